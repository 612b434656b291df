import type { Logger } from '../../lib/log.ts';
import type { Clock } from '../../lib/clock.ts';
import { parseWorkloadData, type Result, type Workload } from '../model/workload.ts';
import { workloadId } from '../model/ids.ts';
import { NoActionNeeded, type Primitive, type PrimitiveContext } from '../primitives/types.ts';

/** The primitives a node runs, keyed by workload type (node/primitives/index.ts builds it). */
export type PrimitiveRegistry = Readonly<Record<string, Primitive<any, any>>>;

export interface DeploymentKey {
  twin: number;
  contract: number;
}

/**
 * Runs one workload operation through its primitive and turns the outcome into a zos
 * Result. Errors never escape: they become `error` (or `unchanged` for a failed update),
 * with the primitive's message, as zos reports them.
 */
export class Provisioner {
  constructor(
    private readonly primitives: PrimitiveRegistry,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  supports(type: string): boolean {
    return Object.hasOwn(this.primitives, type);
  }

  private ctx(key: DeploymentKey, wl: Workload, signal: AbortSignal): PrimitiveContext {
    const id = workloadId(key.twin, key.contract, wl.name);
    return { workload: { twin: key.twin, contract: key.contract, name: wl.name, id }, log: this.log.child({ twin: key.twin, contract: key.contract, workload: wl.name }), signal };
  }

  private result(state: Result['state'], data: unknown = null, message = ''): Result {
    return { created: Math.floor(this.clock.now() / 1000), state, message, data: data ?? null };
  }

  private primitive(type: string): Primitive<any, any> {
    const p = this.primitives[type];
    if (!p) throw new Error(`workload type '${type}' is not supported by this node`);
    return p;
  }

  async provision(key: DeploymentKey, wl: Workload, signal: AbortSignal): Promise<Result> {
    try {
      const data = await this.primitive(wl.type).provision(this.ctx(key, wl, signal), parseWorkloadData(wl));
      return this.result('ok', data);
    } catch (err) {
      if (err instanceof NoActionNeeded) return this.result('ok', err.result ?? wl.result.data);
      return this.fail(key, wl, 'provision', err, 'error');
    }
  }

  async update(key: DeploymentKey, wl: Workload, previous: Workload, signal: AbortSignal): Promise<Result> {
    try {
      const p = this.primitive(wl.type);
      if (!p.update) throw new Error(`workload '${wl.type}' does not support upgrade`);
      const data = await p.update(this.ctx(key, wl, signal), parseWorkloadData(wl), parseWorkloadData(previous));
      return this.result('ok', data);
    } catch (err) {
      if (err instanceof NoActionNeeded) return this.result('ok', err.result ?? previous.result.data);
      // zos keeps the previous state on a failed update and records it as `unchanged`.
      return this.fail(key, wl, 'update', err, 'unchanged');
    }
  }

  async deprovision(key: DeploymentKey, wl: Workload, reason: string, signal: AbortSignal): Promise<Result> {
    try {
      if (this.supports(wl.type)) await this.primitive(wl.type).deprovision(this.ctx(key, wl, signal), parseWorkloadData(wl));
      return this.result('deleted', null, reason);
    } catch (err) {
      return this.fail(key, wl, 'deprovision', err, 'error');
    }
  }

  async pause(key: DeploymentKey, wl: Workload, signal: AbortSignal): Promise<Result> {
    try {
      await this.primitive(wl.type).pause?.(this.ctx(key, wl, signal), parseWorkloadData(wl));
      return this.result('paused', wl.result.data, 'paused');
    } catch (err) {
      return this.fail(key, wl, 'pause', err, 'error');
    }
  }

  async resume(key: DeploymentKey, wl: Workload, signal: AbortSignal): Promise<Result> {
    try {
      await this.primitive(wl.type).resume?.(this.ctx(key, wl, signal), parseWorkloadData(wl));
      return this.result('ok', wl.result.data);
    } catch (err) {
      return this.fail(key, wl, 'resume', err, 'error');
    }
  }

  private fail(key: DeploymentKey, wl: Workload, op: string, err: unknown, state: Result['state']): Result {
    const message = err instanceof Error ? err.message : String(err);
    this.log.warn({ twin: key.twin, contract: key.contract, workload: wl.name, type: wl.type, op, err: message }, 'workload operation failed');
    return this.result(state, state === 'unchanged' ? wl.result.data : null, message);
  }
}
