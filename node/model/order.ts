// The order the engine installs workloads in (uninstall and pause run it reversed).
import type { Workload } from './workload.ts';

const TYPE_ORDER = ['zmount', 'volume', 'qsfs', 'network', 'network-light', 'ipv4', 'ip', 'zmachine', 'zmachine-light', 'zlogs'];
const BY_SIZE = ['zmount', 'volume'];

function rank(type: string): number {
  const i = TYPE_ORDER.indexOf(type);
  return i < 0 ? TYPE_ORDER.length : i;
}

function sizeOf(wl: Workload): number {
  const size = (wl.data as { size?: unknown } | null)?.size;
  return typeof size === 'number' ? size : 0;
}

/** Disks first (largest first), then qsfs, networks, IPs, machines, logs, then the rest; stable otherwise. */
export function installOrder<W extends Workload>(workloads: readonly W[]): W[] {
  return workloads
    .map((wl, i) => ({ wl, i }))
    .sort((a, b) => {
      const r = rank(a.wl.type) - rank(b.wl.type);
      if (r !== 0) return r;
      if (BY_SIZE.includes(a.wl.type)) {
        const s = sizeOf(b.wl) - sizeOf(a.wl);
        if (s !== 0) return s;
      }
      return a.i - b.i;
    })
    .map((x) => x.wl);
}

export function uninstallOrder<W extends Workload>(workloads: readonly W[]): W[] {
  return installOrder(workloads).reverse();
}
