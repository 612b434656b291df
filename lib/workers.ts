import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * A pool of worker threads that each load one module and call its exported `work(job)`.
 * CPU-bound steps (signature checks, image hashing and compression) run there so a process
 * can use every core. It works both from the compiled dist/cli (the module's .js twin) and from
 * the TypeScript sources under tsx (the worker registers tsx itself: loader hooks of the main
 * thread do not reach workers). It never keeps the process alive: an idle worker is unref'd
 * (only one with a job in flight is ref'd, like pending I/O), and terminated after `idleMs`
 * without work (an unref'd worker that loaded tsx still holds the process, and an idle daemon
 * should not keep their memory).
 *
 * Jobs queued while every worker is busy go out together in one message per worker, so the
 * per-message cost is paid once per batch under load and a lone job goes out at once.
 */
export interface WorkerPoolOptions {
  /** Worker threads at most (default: one per core). */
  size?: number;
  /** Terminate a worker after this long without work (default 2 s). */
  idleMs?: number;
  /** Jobs per message at most (default 64). */
  batch?: number;
  /** Node options of the worker threads (default: the main thread's, as node:worker_threads has it; see execArgvWithoutTsx). */
  execArgv?: string[];
}

/**
 * The main thread's Node options without its tsx preloads (`--import tsx`, tsx's `--require` and
 * `--import` of its loader files): a pool's bootstrap registers tsx itself for a TypeScript module
 * and a compiled one never needs it, so under `node --import tsx` (tests, benchmarks running the
 * compiled library) an inherited preload only costs each worker ~15 ms of start that production
 * never pays.
 */
export function execArgvWithoutTsx(argv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const m = /^(--import|--require|-r|--loader|--experimental-loader)(?:=(.*))?$/.exec(argv[i]!);
    const value = m ? (m[2] ?? argv[i + 1]) : undefined;
    if (value !== undefined && /(^|[/\\])tsx([/\\]|$)/.test(value)) {
      if (m![2] === undefined) i++; // the value was the next argument
      continue;
    }
    out.push(argv[i]!);
  }
  return out;
}

/** What a worker module exports. */
export type WorkFn<J, R> = (job: J) => R | Promise<R>;

type Outcome<R> = { ok: true; value: R } | { ok: false; error: string };

interface Queued<J, R> {
  job: J;
  transfer: readonly ArrayBuffer[];
  resolve: (v: R) => void;
  reject: (e: Error) => void;
}

interface Thread<J, R> {
  worker: Worker;
  /** Its module is loaded. */
  ready: boolean;
  /** We are terminating it (its exit is no failure). */
  stopping: boolean;
  /** The batch it is working on; null when idle. */
  busy: Queued<J, R>[] | null;
  idleTimer: NodeJS.Timeout | null;
}

export class WorkerError extends Error {
  readonly code = 'ERR_WORKER' as const;
}

/**
 * The module a worker loads: the file itself under the sources; in dist/cli, where only
 * compiled .js files exist, its .js twin.
 */
function workerModule(url: URL): URL {
  if (url.protocol !== 'file:' || existsSync(fileURLToPath(url))) return url;
  const js = new URL(url.href.replace(/\.ts$/, '.js'));
  if (existsSync(fileURLToPath(js))) return js;
  throw new WorkerError(`worker module not found: ${fileURLToPath(url)}`);
}

/**
 * The worker's entry, evaluated as a script: register tsx for a .ts module, import it, then
 * answer each batch with one outcome per job. Byte results (a Uint8Array, or one as a field of a
 * result object) that own their whole buffer go back transferred, not copied.
 */
function bootstrap(moduleUrl: URL): string {
  const tsx = moduleUrl.pathname.endsWith('.ts') ? JSON.stringify(import.meta.resolve('tsx/esm/api')) : 'null';
  return `
const { parentPort } = require('node:worker_threads');
const ready = (async () => {
  const tsx = ${tsx};
  if (tsx) (await import(tsx)).register();
  return import(${JSON.stringify(moduleUrl.href)});
})();
ready.then(() => parentPort.postMessage('ready'), (e) => { throw e; });
parentPort.on('message', async (jobs) => {
  const results = [];
  const transfer = [];
  let mod;
  try { mod = await ready; } catch { return; } // the load error ends the worker (and fails its jobs)
  for (const job of jobs) {
    try {
      const value = await mod.work(job);
      for (const v of value instanceof Uint8Array ? [value] : value && typeof value === 'object' ? Object.values(value) : []) {
        if (v instanceof Uint8Array && v.byteLength === v.buffer.byteLength && !transfer.includes(v.buffer)) transfer.push(v.buffer);
      }
      results.push({ ok: true, value });
    } catch (e) {
      results.push({ ok: false, error: e && e.message ? e.message : String(e) });
    }
  }
  parentPort.postMessage(results, transfer);
});`;
}

export class WorkerPool<J, R> {
  private readonly code: string;
  private readonly size: number;
  private readonly idleMs: number;
  private readonly batch: number;
  private readonly execArgv: string[] | undefined;
  private readonly threads: Thread<J, R>[] = [];
  private readonly queue: Queued<J, R>[] = [];
  private scheduled = false;
  private closed = false;
  /** Set when a worker failed before its module loaded: starting more would fail the same way. */
  private broken: Error | null = null;

  /** `module`: URL of a module exporting `work` (a WorkFn<J, R>), e.g. new URL('./x-worker.ts', import.meta.url). */
  constructor(module: URL, opts: WorkerPoolOptions = {}) {
    this.code = bootstrap(workerModule(module));
    this.size = Math.max(1, opts.size ?? availableParallelism());
    this.idleMs = opts.idleMs ?? 2_000;
    this.batch = Math.max(1, opts.batch ?? 64);
    this.execArgv = opts.execArgv;
  }

  /** Whether some worker has loaded its module (a job would not wait for a start-up). */
  get warm(): boolean {
    return this.threads.some((t) => t.ready);
  }

  /** Starts the workers not running yet, without giving them work (see `warm`). */
  warmUp(): void {
    if (this.closed || this.broken) return;
    while (this.threads.length < this.size) this.spawn(); // each one starts its idle timer once loaded
  }

  /** Jobs waiting for a worker plus jobs being worked on. */
  get pending(): number {
    return this.queue.length + this.threads.reduce((n, t) => n + (t.busy?.length ?? 0), 0);
  }

  /** Runs one job on a worker; `transfer` moves those buffers instead of copying them. */
  run(job: J, transfer: readonly ArrayBuffer[] = []): Promise<R> {
    if (this.closed) return Promise.reject(new WorkerError('worker pool is closed'));
    if (this.broken) return Promise.reject(new WorkerError(`workers cannot start: ${this.broken.message}`));
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ job, transfer, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // Jobs queued in the same tick go out together.
        queueMicrotask(() => {
          this.scheduled = false;
          this.dispatch();
        });
      }
    });
  }

  /**
   * Runs one job with no wait for the end of the current tick: the job goes to an idle worker
   * now, so that it runs while this thread carries on (run() gathers a tick's jobs first).
   */
  runNow(job: J, transfer: readonly ArrayBuffer[] = []): Promise<R> {
    const p = this.run(job, transfer);
    if (this.queue.length > 0) this.dispatch();
    return p;
  }

  /** Terminates every worker; queued and running jobs fail. */
  async close(): Promise<void> {
    this.closed = true;
    for (const q of this.queue.splice(0)) q.reject(new WorkerError('worker pool is closed'));
    await Promise.all(this.threads.splice(0).map((t) => this.stop(t, new WorkerError('worker pool is closed'))));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const t = this.threads.find((x) => x.busy === null) ?? (this.threads.length < this.size ? this.spawn() : null);
      if (!t) return; // all busy: the next finished batch takes what has queued up
      // Spread a backlog over the idle workers rather than handing one worker all of it.
      const idle = this.threads.filter((x) => x.busy === null).length + (this.size - this.threads.length);
      const n = Math.min(this.batch, Math.max(1, Math.ceil(this.queue.length / Math.max(1, idle))));
      const jobs = this.queue.splice(0, n);
      t.busy = jobs;
      t.worker.ref(); // a job in flight keeps the process alive, as any pending I/O does
      if (t.idleTimer) clearTimeout(t.idleTimer);
      t.idleTimer = null;
      t.worker.postMessage(jobs.map((q) => q.job), jobs.flatMap((q) => q.transfer));
    }
  }

  private spawn(): Thread<J, R> {
    const worker = new Worker(this.code, { eval: true, ...(this.execArgv ? { execArgv: this.execArgv } : {}) });
    const t: Thread<J, R> = { worker, ready: false, stopping: false, busy: null, idleTimer: null };
    worker.on('message', (results: Outcome<R>[] | 'ready') => {
      if (results === 'ready') {
        t.ready = true;
        if (t.busy === null) this.idle(t);
        return;
      }
      const jobs = t.busy ?? [];
      t.busy = null;
      jobs.forEach((q, i) => {
        const r = results[i];
        if (r?.ok) q.resolve(r.value);
        else q.reject(new WorkerError(r?.error ?? 'worker returned no result'));
      });
      this.dispatch();
      if (t.busy === null) this.idle(t);
    });
    const failed = (err: Error) => {
      if (t.stopping) return;
      t.stopping = true;
      if (!t.ready && !this.closed) this.broken ??= err;
      const i = this.threads.indexOf(t);
      if (i >= 0) this.threads.splice(i, 1);
      if (t.idleTimer) clearTimeout(t.idleTimer);
      for (const q of t.busy ?? []) q.reject(new WorkerError(`worker failed: ${err.message}`));
      t.busy = null;
      if (this.broken) for (const q of this.queue.splice(0)) q.reject(new WorkerError(`workers cannot start: ${this.broken.message}`));
      else this.dispatch();
    };
    worker.on('error', failed);
    worker.on('exit', (code) => failed(new Error(`exited with code ${code}`)));
    worker.unref(); // after the listeners (adding one refs it again); ref'd only while it works
    this.threads.push(t);
    return t;
  }

  /** Unref'd, and terminated after idleMs unless work comes. */
  private idle(t: Thread<J, R>): void {
    if (this.closed) return;
    t.worker.unref();
    if (t.idleTimer) clearTimeout(t.idleTimer);
    t.idleTimer = setTimeout(() => void this.retire(t), this.idleMs);
    t.idleTimer.unref();
  }

  private async retire(t: Thread<J, R>): Promise<void> {
    if (t.busy !== null) return;
    t.stopping = true;
    const i = this.threads.indexOf(t);
    if (i >= 0) this.threads.splice(i, 1);
    await t.worker.terminate();
  }

  private async stop(t: Thread<J, R>, err: Error): Promise<void> {
    t.stopping = true;
    if (t.idleTimer) clearTimeout(t.idleTimer);
    for (const q of t.busy ?? []) q.reject(err);
    t.busy = null;
    await t.worker.terminate();
  }
}
