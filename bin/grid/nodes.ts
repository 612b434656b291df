import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { repoPath } from '../../lib/paths.ts';
import { NODE_DAEMON_V8_FLAGS } from '../../node/daemon-v8.ts';
import { cleanupHostState } from './cleanup.ts';
import { CliError, CliErrorCode } from './errors.ts';

/** The `zos` entry point, to run nodes as child processes. */
export const ZOS_BIN = repoPath('bin', 'zos');


export interface NodeSpawnOptions {
  chainUrl: string;
  relayUrl: string;
  activationUrl: string;
  farmId: number;
  dataDir: string;
  /** Bytes of the node's sparse pool image. */
  poolSize: number;
  /** More `zos node` flags. */
  extraArgs?: readonly string[];
  /** Environment of the node process (ZOS_LOG_LEVEL defaults to $ZOS_NODE_LOG_LEVEL or info). */
  env?: Record<string, string>;
  /** How long to wait for `ready node N twin T`. */
  readyTimeoutMs?: number;
  /** Aborting kills a node that is still starting. */
  signal?: AbortSignal;
}

/**
 * One `zos node` child process. Its log (stderr) goes to DATA_DIR/node.log; stop() ends it
 * for good: SIGTERM (SIGKILL after a grace period), then unmounts its pools and detaches its
 * loop devices, which the node keeps on SIGTERM for quick restarts.
 */
export class NodeProcess {
  nodeId = 0;
  twinId = 0;
  private stopping: Promise<void> | null = null;

  private constructor(
    readonly dataDir: string,
    readonly logFile: string,
    private readonly proc: ResultPromise,
  ) {}

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  static async spawn(o: NodeSpawnOptions): Promise<NodeProcess> {
    // Absolute, so the mounts and loop devices it creates can be found again under it (/proc/mounts).
    const dataDir = resolve(o.dataDir);
    await mkdir(dataDir, { recursive: true });
    const logFile = join(dataDir, 'node.log');
    const proc = execa(ZOS_BIN, ['node', '--chain', o.chainUrl, '--relay', o.relayUrl, '--farm', String(o.farmId), '--data-dir', dataDir,
      '--activation-url', o.activationUrl, '--pool-size', String(o.poolSize), ...(o.extraArgs ?? [])], {
      reject: false,
      stdin: 'ignore',
      stderr: { file: logFile, append: true },
      env: {
        ZOS_LOG_LEVEL: process.env.ZOS_NODE_LOG_LEVEL ?? 'info',
        NODE_OPTIONS: [process.env.NODE_OPTIONS, ...NODE_DAEMON_V8_FLAGS].filter(Boolean).join(' '),
        ...o.env,
      },
      ...(o.signal ? { cancelSignal: o.signal } : {}),
    });
    const node = new NodeProcess(dataDir, logFile, proc);
    try {
      const [nodeId, twinId] = await node.waitReady(o.readyTimeoutMs ?? 180_000);
      node.nodeId = nodeId;
      node.twinId = twinId;
    } catch (err) {
      await node.stop();
      throw err;
    }
    return node;
  }

  private waitReady(timeoutMs: number): Promise<[number, number]> {
    return new Promise((resolve, reject) => {
      let buf = '';
      const timer = setTimeout(() => void this.failure(`not ready after ${Math.round(timeoutMs / 1000)} s`).then(reject), timeoutMs);
      this.proc.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        const m = /ready node (\d+) twin (\d+)/.exec(buf);
        if (m) {
          clearTimeout(timer);
          resolve([Number(m[1]), Number(m[2])]);
        }
      });
      void this.proc.then((r) => {
        clearTimeout(timer);
        void this.failure(`exited (${r.exitCode ?? r.signal}) before it was ready`).then(reject);
      });
    });
  }

  /** The error names the log and quotes its end: a temporary data dir is gone once the grid closes. */
  private async failure(what: string): Promise<CliError> {
    const tail = (await readFile(this.logFile, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n').trim();
    return new CliError(CliErrorCode.startFailed, `zos node in ${this.dataDir} ${what}${tail ? `; its log ends:\n${tail}` : ''}`, `see its log: ${this.logFile}`);
  }

  /** Sends `signal` and waits for the exit; its mounts stay, so a node started on the same data dir adopts them. */
  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.running) this.proc.kill(signal);
    await this.proc;
  }

  /** Stops the process and releases its host state; idempotent. */
  stop(graceMs = 20_000): Promise<void> {
    this.stopping ??= (async () => {
      if (this.running) {
        this.proc.kill('SIGTERM');
        const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
        await this.proc;
        clearTimeout(timer);
      }
      await cleanupHostState(this.dataDir);
    })();
    return this.stopping;
  }
}
