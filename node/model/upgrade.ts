// Deployment.Upgrade: how a stored deployment moves to its next version, with zos' rules and texts.
import { ZosError, zosErrors } from '../errors.ts';
import { validateDeployment, type Deployment } from './deployment.ts';
import { workloadModel, type Workload } from './workload.ts';

export interface UpgradePlan {
  /** New names; they carry the new version. */
  add: Workload[];
  /** Names missing from the new deployment (the stored workloads). */
  remove: Workload[];
  /** Names at the new version: the new workload, carrying the stored result. */
  update: Workload[];
  /** Names at an older version: left as they are (the stored workloads). */
  unchanged: Workload[];
}

/**
 * Diff `old` (the stored deployment, active workloads) against `next`. Every failure is a
 * ZosError(UPGRADE_INVALID) reading "<reason>: upgrade validation error", as the node answers it.
 */
export function diffUpgrade(old: Deployment, next: Deployment): UpgradePlan {
  try {
    validateDeployment(next);
  } catch (e) {
    if (e instanceof ZosError) throw zosErrors.upgradeInvalid(`new deployment is invalid: ${e.message}`, e);
    throw e;
  }
  if (old.twin_id !== next.twin_id || old.contract_id !== next.contract_id) {
    throw zosErrors.upgradeInvalid('cannot change deployment or twin id');
  }
  const expected = old.version + 1;
  if (next.version !== expected) {
    throw zosErrors.upgradeInvalid(`expecting deployment version ${expected}, got ${next.version}`);
  }
  const current = new Map(old.workloads.map((w) => [w.name, w]));
  const plan: UpgradePlan = { add: [], remove: [], update: [], unchanged: [] };
  for (const wl of next.workloads) {
    const older = current.get(wl.name);
    current.delete(wl.name);
    if (!older) {
      if (wl.version !== expected) {
        throw zosErrors.upgradeInvalid(`invalid version number for workload '${wl.name}' expected '${expected}'`);
      }
      plan.add.push(wl);
      continue;
    }
    if (older.type !== wl.type) throw zosErrors.upgradeInvalid(`cannot change workload type '${wl.name}'`);
    if (wl.version === expected) plan.update.push({ ...wl, result: older.result });
    else plan.unchanged.push(older);
  }
  plan.remove.push(...current.values());
  // zos names the type here, e.g. "workload 'zmachine' does not support upgrade".
  for (const wl of plan.update) {
    if (!workloadModel(wl.type).updatable) throw zosErrors.upgradeInvalid(`workload '${wl.type}' does not support upgrade`);
  }
  return plan;
}
