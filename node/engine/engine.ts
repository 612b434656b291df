import { Backoff } from '../../lib/backoff.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/log.ts';
import type { NodeChain } from '../chain-port.ts';
import { ZosError } from '../errors.ts';
import { parseDeployment, type Deployment } from '../model/deployment.ts';
import { modelOf } from '../model/types.ts';
import { installOrder, uninstallOrder } from '../model/order.ts';
import type { DeploymentKey } from '../model/ids.ts';
import { holdsResources, isActive, parseWorkloadData, type Result, type Workload } from '../model/workload.ts';
import { admitDisk, admitMemory } from './admission.ts';
import { checkContract } from './contract-check.ts';
import type { Provisioner } from './provisioner.ts';
import type { Job, JobQueue } from './queue.ts';
import type { EngineDb } from './store-db.ts';
import type { DeploymentStore } from './store.ts';
import { planUpdate, UpdatePlans, type PlanStep, type UpdatePlan } from './update-plan.ts';

export interface EngineCapacity {
  totalMru: number;
  reservedMru: number;
  totalSru: number;
  reservedSru: number;
  availableMemory(): number;
}

export interface EngineOptions {
  /** The database of `store` and `queue` (update plans live there too). */
  db: EngineDb;
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
  /**
   * Rows of deployments that hold nothing on the host (a failed contract check, a cancelled
   * contract) are kept this long for their owner to read, then dropped (default 1 h).
   */
  retainSec?: number;
  /** How often those rows are looked for (default 10 min). */
  sweepEveryMs?: number;
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
  private readonly plans: UpdatePlans;
  /** Jobs ran (or the engine started) since the primitives' idle work last ran. */
  private idleDue = true;
  private idlePeriods = 0;

  constructor(private readonly o: EngineOptions) {
    this.retry = new Backoff({ initialMs: 500, maxMs: 30_000, clock: o.clock });
    this.plans = new UpdatePlans(o.db, o.store);
  }

  start(): void {
    if (this.loop) return;
    const signal = this.abort.signal;
    this.loop = Promise.all([this.work(signal), this.sweeping(signal)]).then(() => undefined);
  }

  /** Drops the rows of deployments that have held nothing for `retainSec`; returns their keys. */
  sweep(): DeploymentKey[] {
    const removed = this.o.store.cleanDeleted({ idleSec: this.o.retainSec ?? 3600 });
    if (removed.length) this.o.log.info({ removed: removed.length }, 'dropped rows of deployments that hold nothing');
    return removed;
  }

  private async sweeping(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.o.clock.sleep(this.o.sweepEveryMs ?? 10 * 60_000, signal).catch(() => undefined);
      if (signal.aborted) return;
      try {
        this.sweep();
      } catch (err) {
        this.o.log.warn({ err: (err as Error).message }, 'sweep failed');
      }
    }
  }

  async close(): Promise<void> {
    this.abort.abort(new Error('engine closed'));
    await this.loop?.catch(() => undefined);
  }

  /**
   * Once at node start, before start(): drop what has held nothing for `retainSec` (as the sweep
   * does), let primitives adopt what still runs on the host (init), then queue the stored
   * deployments again (replayStored). Unlike zos, a restart does not drop younger rows: their
   * owner still reads why they failed, and an update racing the first version's check (its
   * deployment in error) still finds the deployment to bring up.
   */
  async recover(): Promise<{ removed: number; replayed: number }> {
    const removed = this.sweep().length;
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
      await this.idle(signal);
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
        this.idleDue = true;
        continue;
      }
      this.attempts.delete(job.id);
      this.o.queue.done(job.id);
      this.idleDue = true;
      this.o.onChanged?.({ twin: job.twin, contract: job.contract }, job.op);
    }
  }

  /**
   * The primitives' idle work (e.g. the image cache's gc), in this loop so that no job runs
   * meanwhile: once the queue is empty after jobs ran, however many (coalesced: one run per idle
   * period, not one per job), and once after start. A job arriving meanwhile makes `busy` true:
   * the primitives stop at their next step and the job runs; the rest waits for the next period.
   */
  private async idle(signal: AbortSignal): Promise<void> {
    if (!this.idleDue || this.o.queue.peek() || signal.aborted) return;
    this.idleDue = false;
    try {
      await this.o.provisioner.idle(signal, () => signal.aborted || this.o.queue.peek() !== undefined, ++this.idlePeriods);
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'idle work failed'); // the jobs still run
    }
  }

  private park(job: Job, err: Error, log: Logger): void {
    log.error({ err: err.message }, 'job failed permanently; parked');
    this.attempts.delete(job.id);
    this.o.queue.park(job.id, err.message);
    const key = { twin: job.twin, contract: job.contract };
    // The owner sees why: a deployment whose provisioning could not run is in error; one whose
    // update could not run keeps what runs (and holds its host objects), the update recorded as
    // failed (`unchanged`), and its plan is given up.
    if (job.op === 'provision' && this.o.store.has(key.twin, key.contract)) {
      this.o.store.setError(key.twin, key.contract, `job failed: ${err.message}`);
    } else if (job.op === 'update' && this.o.store.has(key.twin, key.contract)) {
      this.plans.drop(key);
      this.unchanged(key, `job failed: ${err.message}`);
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
        return this.install(job, job.op === 'provision', signal);
      case 'update':
        return this.update(key, job, signal);
      case 'deprovision':
        return this.uninstall(key, job.message || 'deprovisioned', signal);
      case 'pause':
      case 'resume':
        return this.pauseOrResume(key, job.op, signal);
    }
  }

  /** Checks the contract; a mismatch is returned as its error, a chain outage is thrown (retry). */
  private async contractError(dl: Deployment, checkHash: boolean): Promise<ZosError | undefined> {
    try {
      await checkContract(this.o.chain, this.o.nodeId, dl, { checkHash });
      return undefined;
    } catch (err) {
      if (!(err instanceof ZosError)) throw new ChainOutage((err as Error).message, { cause: err });
      return err;
    }
  }

  private async install(job: Job, checkHash: boolean, signal: AbortSignal): Promise<void> {
    const key = { twin: job.twin, contract: job.contract };
    const dl = this.o.store.signed(key.twin, key.contract);
    const refused = await this.contractError(dl, checkHash);
    if (refused?.code === 'HASH_MISMATCH' && this.o.queue.hasPending(key.twin, key.contract, { op: 'update', after: job.id })) {
      // The owner updated the contract before this first version was checked, and the update is
      // queued behind: the first version is superseded, its workloads stay `init`, and the update
      // provisions them (planUpdate) instead of failing them here.
      this.o.log.info(key, 'first version superseded by a queued update');
      return;
    }
    if (refused && dl.workloads.some((w) => holdsResources(w.result.state))) {
      // A replay after a restart whose contract is gone: what it holds is released, not left
      // behind under rows in error that the next boot would drop.
      return this.uninstall(key, refused.message, signal);
    }
    if (refused) return this.o.store.setError(key.twin, key.contract, refused.message);
    for (const wl of installOrder(dl.workloads)) {
      if (!isActive(wl.result.state)) continue;
      const refusal = wl.result.state === 'init' ? this.refusal(key, wl) : undefined;
      this.record(key, wl, refusal ? this.result('error', refusal, null) : await this.o.provisioner.provision(key, wl, signal));
    }
  }

  /** Why a workload does not fit (memory, disk), as zos' admission says it; undefined if it fits. */
  private refusal(key: DeploymentKey, wl: Workload): string | undefined {
    const model = modelOf(wl.type);
    if (!model) return undefined;
    try {
      const required = model.capacity(parseWorkloadData(wl));
      const used = this.o.store.usedCapacity({ except: { ...key, name: wl.name } });
      const c = this.o.capacity;
      admitMemory(required, used.mru, { total: c.totalMru, available: c.availableMemory(), reserved: c.reservedMru });
      admitDisk(required, used.sru, c.totalSru, c.reservedSru);
      return undefined;
    } catch (err) {
      if (!(err instanceof ZosError)) throw err;
      return err.message;
    }
  }

  /**
   * Applies an update as one recorded plan (update-plan.ts). The first run diffs, checks the
   * contract and records the plan with the new header; a run after a crash resumes that plan.
   * A refused update (bad diff, contract without the new hash) changes nothing: every workload
   * keeps running as it was, the refusal recorded as `unchanged` with its reason; an update whose
   * contract is gone releases the deployment.
   */
  private async update(key: DeploymentKey, job: Job, signal: AbortSignal): Promise<void> {
    let plan: UpdatePlan | undefined = this.plans.get(key);
    if (plan?.job !== job.id) {
      const next = parseDeployment(job.payload);
      try {
        plan = planUpdate(job.id, this.o.store.get(key.twin, key.contract), next);
      } catch (err) {
        if (!(err instanceof ZosError)) throw err;
        this.o.log.warn({ ...key, err: err.message }, 'update rejected at job time');
        return this.unchanged(key, err.message);
      }
      const refused = await this.contractError(next, true);
      // The contract is gone (cancelled before this update ran, its event missed or still to
      // come): nothing may keep running for it, so the deployment is released, not kept as is.
      if (refused?.code === 'CONTRACT_NOT_FOUND') return this.uninstall(key, refused.message, signal);
      if (refused) return this.unchanged(key, refused.message);
      this.plans.begin(key, plan);
    }
    for (let i = plan.done; i < plan.steps.length; i++) {
      const step = plan.steps[i]!;
      const result = await this.stepResult(key, step, signal);
      this.plans.step(key, i, () => this.record(key, step.workload, result));
    }
    this.plans.finish(key, plan);
  }

  private async stepResult(key: DeploymentKey, step: PlanStep, signal: AbortSignal): Promise<Result> {
    switch (step.op) {
      case 'remove':
        return this.o.provisioner.deprovision(key, step.workload, 'deleted by an update', signal);
      case 'add':
      case 'provision': {
        const refusal = this.refusal(key, step.workload);
        return refusal ? this.result('error', refusal, null) : this.o.provisioner.provision(key, step.workload, signal);
      }
      case 'update': {
        // A grown workload must fit like a new one (its old size is not counted twice); if it
        // does not, the host keeps the old one, as after a failed primitive update.
        const refusal = this.refusal(key, step.workload);
        if (refusal) return this.result('unchanged', refusal, step.previous.result.data);
        return this.o.provisioner.update(key, step.workload, step.previous, signal);
      }
    }
  }

  /**
   * An update that did not happen: each workload's log says why; its current state stays. A
   * workload still `init` (its first version was left to this update, see install) is in error.
   */
  private unchanged(key: DeploymentKey, message: string): void {
    for (const wl of this.o.store.get(key.twin, key.contract).workloads) {
      this.record(key, wl, this.result(wl.result.state === 'init' ? 'error' : 'unchanged', message, wl.result.data));
    }
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

  private result(state: Result['state'], message: string, data: unknown): Result {
    return { created: Math.floor(this.o.clock.now() / 1000), state, message, data: data ?? null };
  }
}
