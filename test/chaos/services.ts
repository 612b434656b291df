// Restartable `zos devnet` / `zos relay` child processes for the chaos test: each keeps its data
// dir and, after the first start, its port, so a kill -9 and a start again is a crash and reboot.
import { execa, type ResultPromise } from 'execa';
import { BIN, waitForLine } from '../helpers/grid.ts';

export class Service {
  private proc: ResultPromise | null = null;
  url = '';

  constructor(
    readonly name: string,
    private readonly args: (port: number) => string[],
    private readonly logFile: string,
  ) {}

  /** Starts (again, on the same port once it had one); resolves with its `ready` URL. */
  async start(): Promise<string> {
    const port = this.url ? Number(new URL(this.url).port) : 0;
    const proc = execa(BIN, this.args(port), { reject: false, stdin: 'ignore', stderr: { file: this.logFile, append: true } }) as ResultPromise;
    this.proc = proc;
    const [, url] = await waitForLine(proc, /ready (\S+)\n/, 60_000);
    this.url = url!;
    return this.url;
  }

  /** The running process's id (undefined before start). */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Whether the process started last is still running. */
  get running(): boolean {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async kill9(): Promise<void> {
    this.proc?.kill('SIGKILL');
    await this.proc;
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await proc;
    clearTimeout(timer);
  }
}

/** mulberry32: a small seeded PRNG, so a chaos run repeats from its seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Runs `fn` until it resolves, each try bounded by `tryMs`; a chain or relay being restarted fails a
 * try, not the test. Once `signal` aborts (the test failed elsewhere) it stops trying.
 */
export async function retry<T>(what: string, fn: () => Promise<T>, o: { tryMs?: number; deadlineMs?: number; signal?: AbortSignal } = {}): Promise<T> {
  const deadline = Date.now() + (o.deadlineMs ?? 180_000);
  for (let attempt = 1; ; attempt++) {
    o.signal?.throwIfAborted();
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        fn(),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: try timed out`)), o.tryMs ?? 30_000))),
      ]);
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: still failing after ${attempt} tries: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, Math.min(250 * attempt, 2_000)));
    } finally {
      clearTimeout(timer);
    }
  }
}
