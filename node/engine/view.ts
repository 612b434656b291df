// DeploymentView and InitContext data over the store: what a primitive may read of other workloads.
import { workloadId, type DeploymentKey } from '../model/ids.ts';
import { isWorkloadType, type WorkloadType } from '../model/types.ts';
import { parseWorkloadData, type ResultState, type Workload } from '../model/workload.ts';
import type { DeploymentView, WorkloadStateOf } from '../primitives/types.ts';
import type { DeploymentStore } from './store.ts';

/**
 * A stored workload as primitives see it. The data is parsed with the schema of its own type and
 * the result was written by that type's primitive, which is what makes the type assertion hold.
 */
export function workloadState(key: DeploymentKey, wl: Workload): WorkloadStateOf | undefined {
  if (!isWorkloadType(wl.type)) return undefined;
  const state = {
    workload: { ...key, name: wl.name, id: workloadId(key.twin, key.contract, wl.name) },
    type: wl.type,
    data: parseWorkloadData(wl),
    state: wl.result.state as ResultState,
    result: wl.result.data ?? null,
  };
  return state as WorkloadStateOf;
}

function ofTypes<T extends WorkloadType>(s: WorkloadStateOf | undefined, types: readonly T[]): s is WorkloadStateOf<T> {
  return s !== undefined && (types as readonly WorkloadType[]).includes(s.type);
}

/** Reads the store on every call, so results recorded earlier in the same job are visible. */
export function deploymentView(store: DeploymentStore, key: DeploymentKey): DeploymentView {
  const list = () => store.get(key.twin, key.contract).workloads.flatMap((wl) => workloadState(key, wl) ?? []);
  return {
    key,
    list,
    get: (name) => list().find((w) => w.workload.name === name),
    byType: (...types) => list().filter((w) => ofTypes(w, types)),
    network(name) {
      const contract = store.networkOwner(key.twin, name);
      if (contract === undefined) return undefined;
      const owner = { twin: key.twin, contract };
      const wl = store.get(owner.twin, owner.contract).workloads.find((w) => w.name === name);
      const s = wl && workloadState(owner, wl);
      return ofTypes(s, ['network', 'network-light'] as const) ? s : undefined;
    },
  };
}
