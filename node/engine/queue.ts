// Persistent FIFO of engine jobs (zos' dque), in the engine database. A job is written before the
// request is acknowledged, read by a single worker with next(), and deleted by done() only when
// its work is complete, so a crash mid-job replays it on the next start.
import { z } from 'zod';
import { systemClock, type Clock } from '../../lib/clock.ts';
import { zosErrors } from '../errors.ts';
import { zodMessage } from '../../lib/zod-issues.ts';
import type { EngineDb } from './store-db.ts';

export const JOB_OPS = ['provision', 'update', 'deprovision', 'pause', 'resume', 'provision-no-validation'] as const;
export type JobOp = (typeof JOB_OPS)[number];

/** Bump when the payload shape of a job changes; the worker decides what to do with older ones. */
export const JOB_VERSION = 1;

export const newJobSchema = z
  .object({
    op: z.enum(JOB_OPS),
    twin: z.number().int().min(0).max(2 ** 32 - 1),
    contract: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    /** JSON-serialisable op data (e.g. the target deployment). */
    payload: z.unknown().optional(),
    /** A reason, e.g. the deprovision cause written into the workload results. */
    message: z.string().default(''),
    version: z.number().int().min(1).default(JOB_VERSION),
  })
  .strict();
export type NewJob = z.input<typeof newJobSchema>;

export interface Job {
  id: number;
  version: number;
  op: JobOp;
  twin: number;
  contract: number;
  payload: unknown;
  message: string;
  /** Unix seconds when enqueued. */
  created: number;
}

interface JobRow {
  id: number;
  version: number;
  op: string;
  twin: number;
  contract: number;
  payload: string;
  message: string;
  created: number;
}

function toJob(r: JobRow): Job {
  return { ...r, op: r.op as JobOp, payload: JSON.parse(r.payload) as unknown };
}

export class JobQueue {
  readonly #db: EngineDb;
  readonly #clock: Clock;
  readonly #pollMs: number;
  readonly #waiters = new Set<() => void>();

  /** `pollMs` bounds how late next() notices a job enqueued through another handle. */
  constructor(db: EngineDb, opts: { clock?: Clock; pollMs?: number } = {}) {
    this.#db = db;
    this.#clock = opts.clock ?? systemClock;
    this.#pollMs = opts.pollMs ?? 1000;
  }

  /** Persist a job; it is durable when this returns (inside an outer transaction: when that commits). */
  enqueue(input: NewJob): Job {
    const r = newJobSchema.safeParse(input);
    if (!r.success) throw zosErrors.badRequest(`invalid job: ${zodMessage(r.error)}`, r.error);
    const j = r.data;
    const payload = JSON.stringify(j.payload ?? null);
    const created = Math.floor(this.#clock.now() / 1000);
    const row = this.#db.sql
      .prepare(
        'INSERT INTO jobs (version, op, twin, contract, payload, message, created) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *',
      )
      .get(j.version, j.op, j.twin, j.contract, payload, j.message, created) as JobRow;
    // Wake the worker after the current tick, so an enclosing transaction has committed first.
    queueMicrotask(() => this.#wake());
    return toJob(row);
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }

  /** The oldest job, left in the queue. */
  peek(): Job | undefined {
    const row = this.#db.sql.prepare('SELECT * FROM jobs ORDER BY id LIMIT 1').get() as JobRow | undefined;
    return row && toJob(row);
  }

  /** Wait for the oldest job (zos PeekBlock); rejects with the signal's reason on abort. */
  async next(signal: AbortSignal): Promise<Job> {
    for (;;) {
      signal.throwIfAborted();
      const job = this.peek();
      if (job) return job;
      await this.#waitForWork(signal);
    }
  }

  #waitForWork(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = this.#clock.setTimeout(() => finish(), this.#pollMs);
      const onAbort = () => finish(signal.reason);
      const finish = (err?: unknown) => {
        timer.cancel();
        this.#waiters.delete(wake);
        signal.removeEventListener('abort', onAbort);
        if (err !== undefined) reject(err);
        else resolve();
      };
      const wake = () => finish();
      this.#waiters.add(wake);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Remove a finished job; false if it was already gone. */
  done(id: number): boolean {
    return this.#db.sql.prepare('DELETE FROM jobs WHERE id = ?').run(id).changes > 0;
  }

  size(): number {
    return (this.#db.sql.prepare('SELECT COUNT(*) AS n FROM jobs').get() as { n: number }).n;
  }

  list(): Job[] {
    return (this.#db.sql.prepare('SELECT * FROM jobs ORDER BY id').all() as JobRow[]).map(toJob);
  }

  /**
   * Moves a job that can never succeed out of the queue, with its error, so the jobs behind it
   * (other tenants' work) run. Parked jobs stay for inspection (parked()).
   */
  park(id: number, error: string): boolean {
    const now = Math.floor(this.#clock.now() / 1000);
    return this.#db.transaction(() => {
      const moved = this.#db.sql
        .prepare(
          `INSERT INTO parked_jobs SELECT id, json_object('id', id, 'version', version, 'op', op, 'twin', twin, 'contract', contract,
             'payload', payload, 'message', message, 'created', created), ?, ? FROM jobs WHERE id = ?`,
        )
        .run(error, now, id).changes;
      this.#db.sql.prepare('DELETE FROM jobs WHERE id = ?').run(id);
      return moved > 0;
    });
  }

  parked(): Array<Job & { error: string; parked: number }> {
    const rows = this.#db.sql.prepare('SELECT job, error, parked FROM parked_jobs ORDER BY id').all() as Array<{ job: string; error: string; parked: number }>;
    return rows.map((r) => ({ ...toJob(JSON.parse(r.job) as JobRow), error: r.error, parked: r.parked }));
  }

  /** Whether a job for the deployment is queued (only of `op`, only behind job `after`, if given). */
  hasPending(twin: number, contract: number, o: { op?: JobOp; after?: number } = {}): boolean {
    return !!this.#db.sql
      .prepare('SELECT 1 FROM jobs WHERE twin = ? AND contract = ? AND (? IS NULL OR op = ?) AND id > ? LIMIT 1')
      .get(twin, contract, o.op ?? null, o.op ?? null, o.after ?? -1);
  }
}
