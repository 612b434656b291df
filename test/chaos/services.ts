// Restartable `zos devnet` / `zos relay` child processes for the chaos test: each keeps its data
// dir and, after the first start, its port, so a kill -9 and a start again is a crash and reboot.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { execa, type ResultPromise } from 'execa';
import { connectChain, keyPairFromSecret, type ChainClient } from '../../chain/client/index.ts';
import { faucetUrl } from '../../bin/grid/errors.ts';
import type { Logger } from '../../lib/log.ts';
import { BIN, waitForLine } from '../helpers/grid.ts';
import { cleanupHostState } from '../helpers/host.ts';

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

/** A devnet, a relay and a farm for one chaos test, all in one temp dir. */
export interface ChaosGrid {
  dir: string;
  /** The node's data dir (the test spawns and restarts the node itself). */
  nodeDir: string;
  devnet: Service;
  relay: Service;
  chainUrl: string;
  relayUrl: string;
  activationUrl: string;
  client: ChainClient;
  farmId: number;
  /** Runs `fn` at teardown before the chain client, relay and devnet go (peers, the node). */
  beforeClose(fn: () => Promise<unknown>): void;
  /** Marks the run passed: its temp dir is removed at teardown instead of kept for a look. */
  passed(): void;
}

/**
 * Starts devnet (--dev, state on disk) and relay as restartable processes, connects a chain
 * client and makes Alice's farm; teardown stops everything, cleans the node's host state and
 * keeps the logs (devnet.log, relay.log, node/node.log) of a failed run.
 */
export async function startChaosGrid(t: TestContext, o: { name: string; log: Logger }): Promise<ChaosGrid> {
  const dir = await mkdtemp(join(tmpdir(), `zos-${o.name}-`));
  const nodeDir = join(dir, 'node');
  const first: Array<() => Promise<unknown>> = [];
  let passed = false;
  let client: ChainClient | undefined;
  const devnet = new Service('devnet', (port) => ['devnet', '--dev', '--port', String(port), '--data-dir', join(dir, 'chain')], join(dir, 'devnet.log'));
  const relay = new Service('relay', (port) => ['relay', '--port', String(port), '--chain', devnet.url, '--data-dir', join(dir, 'relay'), '--domain', '127.0.0.1'], join(dir, 'relay.log'));
  t.after(async () => {
    for (const fn of first) await fn().catch(() => undefined);
    await client?.close().catch(() => undefined);
    await relay.stop();
    await devnet.stop();
    await cleanupHostState(nodeDir);
    if (passed) await rm(dir, { recursive: true, force: true });
    else t.diagnostic(`logs kept in ${dir}`);
  });
  const chainUrl = await devnet.start();
  client = connectChain({ urls: [chainUrl], logger: o.log });
  const relayUrl = await relay.start();
  await client.start();
  const farmer = client.as(await keyPairFromSecret('//Alice'));
  await farmer.ensureTermsAccepted();
  await farmer.ensureTwin({ relay: null, pk: null });
  const { farmId } = await farmer.ensureFarm(`${o.name}farm`);
  return {
    dir,
    nodeDir,
    devnet,
    relay,
    chainUrl,
    relayUrl,
    activationUrl: faucetUrl(chainUrl),
    client,
    farmId,
    beforeClose: (fn) => first.push(fn),
    passed: () => {
      passed = true;
    },
  };
}
