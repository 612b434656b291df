import type { Logger } from '../../lib/log.ts';
import type { Clock } from '../../lib/clock.ts';
import { workloadId, type DeploymentKey } from '../model/ids.ts';
import { isWorkloadType, WORKLOAD_TYPES, type WorkloadType } from '../model/types.ts';
import { holdsResources, parseWorkloadData, type Result, type Workload } from '../model/workload.ts';
import { NoActionNeeded, type PrimitiveContext, type PrimitiveOf, type PrimitiveRegistry, type WorkloadState } from '../primitives/types.ts';
import type { DeploymentStore } from './store.ts';
import { deploymentView, workloadState } from './view.ts';

/**
 * A primitive with its type erased. The registry maps each type to its own Primitive<T>; the engine
 * only ever calls it with data parsed by that same type's schema (parseWorkloadData(wl) for wl.type).
 */
type AnyPrimitive = PrimitiveOf<WorkloadType>;

export interface ProvisionerOptions {
  primitives: PrimitiveRegistry;
  store: DeploymentStore;
  clock: Clock;
  log: Logger;
}

/**
 * Runs one workload operation through its primitive and turns the outcome into a zos
 * Result. Errors never escape: they become `error` (or `unchanged` for a failed update),
 * with the primitive's message, as zos reports them.
 */
export class Provisioner {
  constructor(private readonly o: ProvisionerOptions) {}

  /** The workload types this node provisions, in zos' type order. */
  types(): WorkloadType[] {
    return WORKLOAD_TYPES.filter((t) => this.o.primitives[t] !== undefined);
  }

  supports(type: string): boolean {
    return this.primitive(type) !== undefined;
  }

  private primitive(type: string): AnyPrimitive | undefined {
    return isWorkloadType(type) ? (this.o.primitives[type] as AnyPrimitive | undefined) : undefined;
  }

  private required(type: string): AnyPrimitive {
    const p = this.primitive(type);
    if (!p) throw new Error(`workload type '${type}' is not supported by this node`);
    return p;
  }

  /**
   * Once at node start, before stored deployments are replayed: each primitive's init gets the
   * workloads of its type that hold resources, to adopt what still runs. A failing init is logged.
   */
  async init(signal: AbortSignal): Promise<void> {
    const byType = this.holding();
    for (const type of this.types()) {
      const p = this.required(type);
      if (!p.init) continue;
      const log = this.o.log.child({ type });
      try {
        await p.init({ workloads: byType.get(type) ?? [], log, signal });
      } catch (err) {
        log.error({ err: (err as Error).message }, 'primitive init failed; replay continues');
      }
    }
  }

  /**
   * Between jobs (the engine calls it once the queue is empty): each primitive's idle gets the
   * workloads of its type that hold resources; `busy` tells it a job is waiting. A failing idle is logged.
   */
  async idle(signal: AbortSignal, busy: () => boolean, period: number): Promise<void> {
    const byType = this.holding();
    const holding = new Map([...byType].flatMap(([type, l]) => l.map((s) => [s.workload.id, type] as const)));
    for (const type of this.types()) {
      const p = this.required(type);
      if (!p.idle || busy()) continue;
      const log = this.o.log.child({ type });
      try {
        await p.idle({ workloads: byType.get(type) ?? [], log, signal, holding, busy, period });
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'primitive idle work failed');
      }
    }
  }

  /** The stored workloads that hold resources, by type. */
  private holding(): Map<WorkloadType, WorkloadState<WorkloadType>[]> {
    const byType = new Map<WorkloadType, WorkloadState<WorkloadType>[]>();
    for (const key of this.o.store.keys()) {
      for (const wl of this.o.store.get(key.twin, key.contract).workloads) {
        const s = holdsResources(wl.result.state) ? workloadState(key, wl) : undefined;
        if (s) byType.set(s.type, [...(byType.get(s.type) ?? []), s]);
      }
    }
    return byType;
  }

  private ctx(key: DeploymentKey, wl: Workload, signal: AbortSignal): PrimitiveContext {
    const id = workloadId(key.twin, key.contract, wl.name);
    return {
      workload: { ...key, name: wl.name, id },
      deployment: deploymentView(this.o.store, key),
      log: this.o.log.child({ twin: key.twin, contract: key.contract, workload: wl.name }),
      signal,
    };
  }

  private result(state: Result['state'], data: unknown = null, message = ''): Result {
    return { created: Math.floor(this.o.clock.now() / 1000), state, message, data: data ?? null };
  }

  async provision(key: DeploymentKey, wl: Workload, signal: AbortSignal): Promise<Result> {
    try {
      const data = await this.required(wl.type).provision(this.ctx(key, wl, signal), parseWorkloadData(wl));
      return this.result('ok', data);
    } catch (err) {
      if (err instanceof NoActionNeeded) return this.result('ok', err.result ?? wl.result.data);
      return this.fail(key, wl, 'provision', err, 'error', signal);
    }
  }

  async update(key: DeploymentKey, wl: Workload, previous: Workload, signal: AbortSignal): Promise<Result> {
    try {
      const p = this.required(wl.type);
      if (!p.update) throw new Error(`workload '${wl.type}' does not support upgrade`);
      const data = await p.update(this.ctx(key, wl, signal), parseWorkloadData(wl), parseWorkloadData(previous));
      return this.result('ok', data);
    } catch (err) {
      if (err instanceof NoActionNeeded) return this.result('ok', err.result ?? previous.result.data);
      // zos keeps the previous state on a failed update and records it as `unchanged`.
      return this.fail(key, wl, 'update', err, 'unchanged', signal);
    }
  }

  async deprovision(key: DeploymentKey, wl: Workload, reason: string, signal: AbortSignal): Promise<Result> {
    try {
      await this.primitive(wl.type)?.deprovision(this.ctx(key, wl, signal), parseWorkloadData(wl));
      return this.result('deleted', null, reason);
    } catch (err) {
      return this.fail(key, wl, 'deprovision', err, 'error', signal);
    }
  }

  async pause(key: DeploymentKey, wl: Workload, signal: AbortSignal): Promise<Result> {
    try {
      await this.required(wl.type).pause?.(this.ctx(key, wl, signal), parseWorkloadData(wl));
      return this.result('paused', wl.result.data, 'paused');
    } catch (err) {
      return this.fail(key, wl, 'pause', err, 'error', signal);
    }
  }

  async resume(key: DeploymentKey, wl: Workload, signal: AbortSignal): Promise<Result> {
    try {
      await this.required(wl.type).resume?.(this.ctx(key, wl, signal), parseWorkloadData(wl));
      return this.result('ok', wl.result.data);
    } catch (err) {
      return this.fail(key, wl, 'resume', err, 'error', signal);
    }
  }

  private fail(key: DeploymentKey, wl: Workload, op: string, err: unknown, state: Result['state'], signal: AbortSignal): Result {
    // Stopped (node shutting down), not failed: nothing is recorded and the job runs again at start.
    if (signal.aborted) throw err;
    const message = err instanceof Error ? err.message : String(err);
    this.o.log.warn({ twin: key.twin, contract: key.contract, workload: wl.name, type: wl.type, op, err: message }, 'workload operation failed');
    return this.result(state, state === 'unchanged' ? wl.result.data : null, message);
  }
}
