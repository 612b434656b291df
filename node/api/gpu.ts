import type { DeploymentStore } from '../engine/store.ts';
import type { HostSystem } from '../host/system/index.ts';
import { pciShortId } from '../host/system/pci.ts';

export interface GpuAnswer {
  id: string;
  vendor: string;
  device: string;
  vram: number;
  contract: number;
}

/** The contract using each GPU: zmachines of active deployments name theirs in `gpu`. */
function usedGpus(store: DeploymentStore): Map<string, number> {
  const used = new Map<string, number>();
  for (const dl of store.listActive()) {
    for (const wl of dl.workloads) {
      if (wl.type !== 'zmachine' && wl.type !== 'zmachine-light') continue;
      const gpus = (wl.data as { gpu?: unknown } | null)?.gpu;
      if (Array.isArray(gpus)) for (const g of gpus) if (typeof g === 'string') used.set(g, dl.contract_id);
    }
  }
  return used;
}

/** `zos.gpu.list`: the host's discrete GPUs and who uses them; `null` when there are none, as zos marshals it. */
export async function gpuList(host: HostSystem, store: DeploymentStore): Promise<GpuAnswer[] | null> {
  const gpus = await host.gpus();
  if (!gpus.length) return null;
  const used = usedGpus(store);
  return gpus.map((g) => ({
    id: pciShortId(g),
    vendor: g.vendorName,
    device: g.deviceName,
    vram: g.vram,
    contract: used.get(pciShortId(g)) ?? 0,
  }));
}
