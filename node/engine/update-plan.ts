// An update as one recorded plan: the steps are computed once, stored with the new header in one
// transaction, and each step's result is recorded together with the step counter. A crash at any
// point resumes the same plan at the step that was running (primitives are idempotent), instead of
// diffing again against a header that already claims the new version.
import type { Deployment } from '../model/deployment.ts';
import type { DeploymentKey } from '../model/ids.ts';
import { installOrder, uninstallOrder } from '../model/order.ts';
import { diffUpgrade } from '../model/upgrade.ts';
import { holdsResources, type Workload } from '../model/workload.ts';
import type { EngineDb } from './store-db.ts';
import type { DeploymentStore, HeaderFields } from './store.ts';

export type PlanStep =
  | { op: 'remove'; workload: Workload }
  | { op: 'add'; workload: Workload }
  /**
   * A workload the update keeps that never came up (its first version was not provisioned: the
   * update arrived before the contract check, or that check or the primitive failed): `workload`
   * (the new one, or the stored one if the update leaves it as it is) is provisioned, not updated.
   */
  | { op: 'provision'; workload: Workload }
  /** `workload` is the new one carrying the stored result; `previous` is what runs now. */
  | { op: 'update'; workload: Workload; previous: Workload };

export interface UpdatePlan {
  /** The job that recorded it; another job finds a plan it did not start only after a parked one. */
  job: number;
  header: HeaderFields;
  /** Workload names in the order of the deployment as signed. */
  order: string[];
  steps: PlanStep[];
  /** Steps whose result is recorded. */
  done: number;
}

/**
 * The steps from `stored` to `next` in zos' order: removals (uninstall order), additions and
 * provisions of kept workloads that never came up, then updates (install order). Throws zos'
 * upgrade errors.
 */
export function planUpdate(job: number, stored: Deployment, next: Deployment): UpdatePlan {
  const diff = diffUpgrade(stored, next);
  const previous = new Map(stored.workloads.map((w) => [w.name, w]));
  const down = (w: Workload) => !holdsResources(previous.get(w.name)!.result.state);
  const provision = [...diff.update, ...diff.unchanged].filter(down);
  return {
    job,
    header: {
      version: next.version, expiration: next.expiration, metadata: next.metadata,
      description: next.description, signature_requirement: next.signature_requirement,
    },
    order: next.workloads.map((w) => w.name),
    steps: [
      ...uninstallOrder(diff.remove).map((workload) => ({ op: 'remove' as const, workload })),
      ...installOrder(diff.add).map((workload) => ({ op: 'add' as const, workload })),
      ...installOrder(provision).map((workload) => ({ op: 'provision' as const, workload })),
      ...installOrder(diff.update.filter((w) => !down(w))).map((workload) => ({ op: 'update' as const, workload, previous: previous.get(workload.name)! })),
    ],
    done: 0,
  };
}

/** The update_plans table: at most one plan per deployment. */
export class UpdatePlans {
  constructor(
    private readonly db: EngineDb,
    private readonly store: DeploymentStore,
  ) {}

  get(key: DeploymentKey): UpdatePlan | undefined {
    const row = this.db.sql.prepare('SELECT plan, done FROM update_plans WHERE twin = ? AND contract = ?').get(key.twin, key.contract) as
      | { plan: string; done: number }
      | undefined;
    return row && { ...(JSON.parse(row.plan) as UpdatePlan), done: row.done };
  }

  /** Records the plan, the new header and the new workloads (state `init`) at once. */
  begin(key: DeploymentKey, plan: UpdatePlan): void {
    this.db.transaction(() => {
      this.store.update(key.twin, key.contract, plan.header);
      for (const s of plan.steps) if (s.op === 'add') this.store.add(key.twin, key.contract, s.workload);
      this.db.sql
        .prepare('INSERT OR REPLACE INTO update_plans (twin, contract, plan, done) VALUES (?, ?, ?, 0)')
        .run(key.twin, key.contract, JSON.stringify({ ...plan, done: 0 }));
    });
  }

  /** Records step `index` as done together with `record` (its result), in one transaction. */
  step(key: DeploymentKey, index: number, record: () => void): void {
    this.db.transaction(() => {
      record();
      this.db.sql.prepare('UPDATE update_plans SET done = ? WHERE twin = ? AND contract = ?').run(index + 1, key.twin, key.contract);
    });
  }

  /** The last step: the workloads take the signed order and the plan is gone. */
  finish(key: DeploymentKey, plan: UpdatePlan): void {
    this.db.transaction(() => {
      this.store.reorder(key.twin, key.contract, plan.order);
      this.drop(key);
    });
  }

  drop(key: DeploymentKey): void {
    this.db.sql.prepare('DELETE FROM update_plans WHERE twin = ? AND contract = ?').run(key.twin, key.contract);
  }
}
