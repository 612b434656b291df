import { Backoff } from '../../lib/backoff.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/log.ts';
import type { NodeChain } from '../chain-port.ts';
import { ZosError } from '../errors.ts';
import { parseDeployment, type Deployment } from '../model/deployment.ts';
import { modelOf } from '../model/types.ts';
import { installOrder, uninstallOrder } from '../model/order.ts';
import type { DeploymentKey } from '../model/ids.ts';
import { diffUpgrade } from '../model/upgrade.ts';
import { isActive, parseWorkloadData, type Workload } from '../model/workload.ts';
import { admitDisk, admitMemory } from './admission.ts';
import { checkContract } from './contract-check.ts';
import type { Provisioner } from './provisioner.ts';
import type { Job, JobQueue } from './queue.ts';
import type { DeploymentStore } from './store.ts';

export interface EngineCapacity {
  totalMru: number;
  reservedMru: number;
  totalSru: number;
  reservedSru: number;
  availableMemory(): number;
}

export interface EngineOptions {
  store: DeploymentStore;
  queue: JobQueue;
  chain: NodeChain;
  nodeId: number;
  provisioner: Provisioner;
  capacity: EngineCapacity;
  clock: Clock;
  log: Logger;
  /** Called after every job that changed a deployment (resource reports hang off this). */
  onChanged?: (key: DeploymentKey, op: Job['op']) => void;
}

/** A failed job is tried this many times (with backoff) before it is parked. */
export const MAX_JOB_ATTEMPTS = 5;

/** The chain could not be asked (an outage): the job is retried for as long as it lasts, never parked. */
class ChainOutage extends Error {}

/**
 * The provisioning engine (zos provision/engine.go): one worker over a persistent FIFO.
 * A job stays queued until it is done, so a crash re-runs it; primitives are idempotent.
 * Chain outages keep the job and retry it with backoff. A job that fails otherwise is parked
 * with its error (at once for bad input, after MAX_JOB_ATTEMPTS for anything else) so that
 * one poison job never blocks every tenant's work behind it.
 */
export class Engine {
  private readonly abort = new AbortController();
  private loop: Promise<void> | null = null;
  private readonly retry: Backoff;
  private readonly attempts = new Map<number, number>();

  constructor(private readonly o: EngineOptions) {
    this.retry = new Backoff({ initialMs: 500, maxMs: 30_000, clock: o.clock });
  }

  start(): void {
    if (this.loop) return;
    this.loop = this.work(this.abort.signal);
  }

  async close(): Promise<void> {
    this.abort.abort(new Error('engine closed'));
    await this.loop?.catch(() => undefined);
  }

  /**
   * Once at node start, before start(): drop what nothing holds any more, let primitives adopt
   * what still runs on the host (init), then queue the stored deployments again (replayStored).
   */
  async recover(): Promise<{ removed: number; replayed: number }> {
    const removed = this.o.store.cleanDeleted().length;
    await this.o.provisioner.init(this.abort.signal);
    return { removed, replayed: this.replayStored() };
  }

  /**
   * After a restart: every stored deployment without a pending job is re-provisioned
   * without the hash check (zos opProvisionNoValidation). Pending jobs are kept, so a
   * deployment that was never validated still gets its full check.
   */
  replayStored(): number {
    let n = 0;
    for (const k of this.o.store.keys()) {
      if (this.o.queue.hasPending(k.twin, k.contract)) continue;
      const dl = this.o.store.get(k.twin, k.contract);
      if (!dl.workloads.some((w) => isActive(w.result.state))) continue;
      this.o.queue.enqueue({ op: 'provision-no-validation', twin: k.twin, contract: k.contract });
      n++;
    }
    return n;
  }

  private async work(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let job: Job;
      try {
        job = await this.o.queue.next(signal);
      } catch {
        return; // aborted
      }
      const log = this.o.log.child({ job: job.id, op: job.op, twin: job.twin, contract: job.contract });
      try {
        await this.run(job, signal);
        this.retry.reset();
      } catch (err) {
        if (signal.aborted) return;
        const tries = (this.attempts.get(job.id) ?? 0) + 1;
        this.attempts.set(job.id, tries);
        const hopeless = err instanceof ZosError && err.isUserError; // bad input: no retry can fix it
        if (err instanceof ChainOutage || (!hopeless && tries < MAX_JOB_ATTEMPTS)) {
          log.warn({ err: (err as Error).message, tries }, 'job failed; retrying');
          await this.retry.wait(signal).catch(() => undefined);
          continue; // keep the job queued
        }
        this.park(job, err as Error, log);
        continue;
      }
      this.attempts.delete(job.id);
      this.o.queue.done(job.id);
      this.o.onChanged?.({ twin: job.twin, contract: job.contract }, job.op);
    }
  }

  private park(job: Job, err: Error, log: Logger): void {
    log.error({ err: err.message }, 'job failed permanently; parked');
    this.attempts.delete(job.id);
    this.o.queue.park(job.id, err.message);
    // The owner sees why: a deployment whose provisioning or update could not run is in error.
    if ((job.op === 'provision' || job.op === 'update') && this.o.store.has(job.twin, job.contract)) {
      this.o.store.setError(job.twin, job.contract, `job failed: ${err.message}`);
    }
    this.o.onChanged?.({ twin: job.twin, contract: job.contract }, job.op);
  }

  private async run(job: Job, signal: AbortSignal): Promise<void> {
    const key = { twin: job.twin, contract: job.contract };
    if (!this.o.store.has(key.twin, key.contract)) return;
    switch (job.op) {
      case 'provision':
      case 'provision-no-validation':
        // The store keeps the deployment as signed (workload order, expiration): its hash is checked
        // from there. (Jobs queued by older versions still carry a copy; it is not needed.)
        return this.install(key, job.op === 'provision', signal);
      case 'update':
        return this.update(key, parseDeployment(job.payload), signal);
      case 'deprovision':
        return this.uninstall(key, job.message || 'deprovisioned', signal);
      case 'pause':
      case 'resume':
        return this.pauseOrResume(key, job.op, signal);
    }
  }

  /** Contract mismatch marks every workload `error` and ends the job; a chain outage rethrows (retry). */
  private async validated(dl: Deployment, checkHash: boolean): Promise<boolean> {
    try {
      await checkContract(this.o.chain, this.o.nodeId, dl, { checkHash });
      return true;
    } catch (err) {
      if (!(err instanceof ZosError)) throw new ChainOutage((err as Error).message, { cause: err });
      this.o.store.setError(dl.twin_id, dl.contract_id, err.message);
      return false;
    }
  }

  private async install(key: DeploymentKey, checkHash: boolean, signal: AbortSignal): Promise<void> {
    const dl = this.o.store.signed(key.twin, key.contract);
    if (!(await this.validated(dl, checkHash))) return;
    for (const wl of installOrder(dl.workloads)) {
      if (!isActive(wl.result.state)) continue;
      await this.provisionOne(key, wl, signal);
    }
  }

  private async provisionOne(key: DeploymentKey, wl: Workload, signal: AbortSignal): Promise<void> {
    if (wl.result.state === 'init') {
      try {
        this.admit(key, wl);
      } catch (err) {
        if (!(err instanceof ZosError)) throw err;
        this.record(key, wl, { created: this.now(), state: 'error', message: err.message, data: null });
        return;
      }
    }
    this.record(key, wl, await this.o.provisioner.provision(key, wl, signal));
  }

  private admit(key: DeploymentKey, wl: Workload): void {
    const model = modelOf(wl.type);
    if (!model) return;
    const required = model.capacity(parseWorkloadData(wl));
    const used = this.o.store.usedCapacity({ except: { ...key, name: wl.name } });
    const c = this.o.capacity;
    admitMemory(required, used.mru, { total: c.totalMru, available: c.availableMemory(), reserved: c.reservedMru });
    admitDisk(required, used.sru, c.totalSru, c.reservedSru);
  }

  private async update(key: DeploymentKey, next: Deployment, signal: AbortSignal): Promise<void> {
    const stored = this.o.store.get(key.twin, key.contract);
    let plan;
    try {
      plan = diffUpgrade(stored, next);
    } catch (err) {
      if (!(err instanceof ZosError)) throw err;
      this.o.log.warn({ ...key, err: err.message }, 'update rejected at job time');
      return;
    }
    if (!(await this.validated(next, true))) return;
    this.o.store.update(key.twin, key.contract, {
      version: next.version,
      expiration: next.expiration,
      metadata: next.metadata,
      description: next.description,
      signature_requirement: next.signature_requirement,
    });
    for (const wl of uninstallOrder(plan.remove)) {
      this.record(key, wl, await this.o.provisioner.deprovision(key, wl, 'deleted by an update', signal));
    }
    for (const wl of installOrder(plan.add)) {
      this.o.store.add(key.twin, key.contract, wl);
      await this.provisionOne(key, this.o.store.current(key.twin, key.contract, wl.name), signal);
    }
    const previous = new Map(stored.workloads.map((w) => [w.name, w]));
    for (const wl of installOrder(plan.update)) {
      const prev = previous.get(wl.name)!;
      // A grown workload must fit like a new one (its old size is not counted twice); if it
      // does not, the host keeps the old one and the workload reports why.
      try {
        this.admit(key, wl);
      } catch (err) {
        if (!(err instanceof ZosError)) throw err;
        this.record(key, wl, { created: this.now(), state: 'error', message: err.message, data: prev.result.data });
        continue;
      }
      this.record(key, wl, await this.o.provisioner.update(key, wl, prev, signal));
    }
    this.o.store.reorder(key.twin, key.contract, next.workloads.map((w) => w.name));
  }

  private async uninstall(key: DeploymentKey, reason: string, signal: AbortSignal): Promise<void> {
    const dl = this.o.store.get(key.twin, key.contract);
    for (const wl of uninstallOrder(dl.workloads)) {
      if (wl.result.state === 'deleted') continue;
      this.record(key, wl, await this.o.provisioner.deprovision(key, wl, reason, signal));
    }
  }

  private async pauseOrResume(key: DeploymentKey, op: 'pause' | 'resume', signal: AbortSignal): Promise<void> {
    const dl = this.o.store.get(key.twin, key.contract);
    const list = op === 'pause' ? uninstallOrder(dl.workloads) : installOrder(dl.workloads);
    // Every running workload is marked paused; primitives that can stop (VMs) also do so.
    for (const wl of list) {
      if (op === 'pause' && wl.result.state !== 'ok') continue;
      if (op === 'resume' && wl.result.state !== 'paused') continue;
      const result = op === 'pause' ? await this.o.provisioner.pause(key, wl, signal) : await this.o.provisioner.resume(key, wl, signal);
      this.record(key, wl, result);
    }
  }

  private record(key: DeploymentKey, wl: Workload, result: Workload['result']): void {
    this.o.store.appendState(key.twin, key.contract, { ...wl, result });
  }

  private now(): number {
    return Math.floor(this.o.clock.now() / 1000);
  }
}
