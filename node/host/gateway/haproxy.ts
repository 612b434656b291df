import { appendFile, chmod, chown, mkdir, open, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../../../lib/log.ts';
import { runResult } from '../exec.ts';
import { aliveWith, readPid, spawnDetached, terminate, waitFor } from '../vm/procs.ts';
import { servedGeneration, type AdminStep } from './config.ts';
import { asProxyAccount, proxyRunDir, type ProxyAccount } from './privileges.ts';

/** The haproxy config's file name in its run dir (and, for one an older node started, in the state dir). */
export const CONFIG = 'haproxy.cfg';
/** The admin socket, in a subdirectory of the run dir that only haproxy's account writes. */
const SOCKET = join('sock', 'stats.sock');
const RELOAD_TIMEOUT_MS = 10_000;
/** haproxy.log (the master's output and failed requests) is cut back to its last LOG_KEEP bytes past LOG_MAX. */
const LOG_MAX = 8 << 20;
const LOG_KEEP = 256 << 10;

/**
 * The haproxy (master-worker) of one gateway state dir: its pid file and log in `dir` (root's
 * only), its config and admin socket in proxyRunDir(dir). It outlives the node, like VMs, and is
 * recognised by its pid file and its config path on its command line. A config is checked with
 * `haproxy -c` before it is loaded; a reload is SIGUSR2 to the master (a new worker takes the
 * listeners, the old one finishes its connections).
 */
export class Haproxy {
  /** haproxy's config, socket and staged certificates. */
  readonly run: string;

  constructor(
    private readonly dir: string,
    private readonly log: Logger,
  ) {
    this.run = proxyRunDir(dir);
  }

  get socket(): string {
    return join(this.run, SOCKET);
  }

  private pidFile(): string {
    return join(this.dir, 'haproxy.pid');
  }

  pid(): Promise<number | undefined> {
    return readPid(this.pidFile());
  }

  async running(): Promise<boolean> {
    return aliveWith(await this.pid(), join(this.run, CONFIG));
  }

  /** Whether the running master is in the network namespace `ns` (false when none runs). */
  async inNamespace(ns: string | null): Promise<boolean> {
    const pid = await this.pid();
    const [mine, want] = await Promise.all([stat(`/proc/${pid}/ns/net`).catch(() => null), ns ? stat(`/run/netns/${ns}`).catch(() => null) : null]);
    return !!mine && !!want && mine.ino === want.ino && mine.dev === want.dev;
  }

  /**
   * The run dir is root's and haproxy's group may only read it (the node writes the config
   * there, so it must not follow anything haproxy could plant); the socket's subdirectory is
   * haproxy's own.
   */
  async prepareRunDir(account: ProxyAccount): Promise<void> {
    const sock = join(this.socket, '..');
    await mkdir(join(this.run, '..'), { recursive: true });
    await chmod(join(this.run, '..'), 0o755);
    await mkdir(sock, { recursive: true, mode: 0o700 });
    await chown(this.run, 0, account.gid);
    await chmod(this.run, 0o750);
    await chown(sock, account.uid, account.gid);
  }

  /**
   * Checks `text` and loads it: a reload of the running master, or a new one in namespace `ns`.
   * Resolves once generation `generation` serves; throws with haproxy's words otherwise.
   */
  async load(text: string, generation: number, ns: string | null, account: ProxyAccount): Promise<void> {
    await this.boundLog();
    const up = await this.running();
    const next = join(this.run, `${CONFIG}.next`);
    await writeFile(next, text, { mode: 0o600 });
    await chown(next, 0, account.gid);
    await chmod(next, 0o640);
    const check = await runResult('haproxy', ['-c', '-q', '-f', next], { log: this.log });
    if (check.exitCode !== 0) throw new Error(`gateway proxy config rejected: ${check.stderr || check.stdout}`);
    await rename(next, join(this.run, CONFIG));
    if (up) process.kill((await this.pid())!, 'SIGUSR2');
    else await this.spawn(ns, account);
    const served = async () => (await this.generationServed()) === generation;
    // Waits until the new generation serves or the master is gone; not on its command line, which
    // reads empty while the master re-executes itself for the reload.
    const master = await this.pid();
    await waitFor(async () => (await served()) || !(await aliveWith(master, '')), RELOAD_TIMEOUT_MS, 50);
    if (!(await served())) throw new Error(`gateway proxy did not ${up ? 'reload' : 'start'}: ${await this.logTail()}`);
  }

  private async spawn(ns: string | null, account: ProxyAccount): Promise<void> {
    if (!ns) throw new Error('gateway is not supported on this node: no public configuration');
    // nsenter without --pid and setpriv exec in place: the pid is haproxy's master, which keeps it across
    // reloads (it re-executes itself). No `-p`: haproxy rewrites that file on every reload, and a
    // read at that moment would find no haproxy and start a second one.
    const args = [`--net=/run/netns/${ns}`, ...asProxyAccount(account, ['haproxy', '-W', '-db', '-f', join(this.run, CONFIG)])];
    await writeFile(this.pidFile(), `${spawnDetached('nsenter', args, this.logFile())}\n`);
  }

  private async generationServed(): Promise<number | undefined> {
    return servedGeneration(await this.admin('show info').catch(() => ''));
  }

  private logFile(): string {
    return join(this.dir, 'haproxy.log');
  }

  private async logTail(): Promise<string> {
    return (await tailOf(this.logFile(), 16 << 10).catch(() => '')).split('\n').slice(-10).join('\n').trim();
  }

  /** Keeps the log bounded; haproxy writes it with O_APPEND (spawnDetached), so it goes on at the new end. */
  private async boundLog(): Promise<void> {
    if (((await stat(this.logFile()).catch(() => null))?.size ?? 0) <= LOG_MAX) return;
    const tail = await tailOf(this.logFile(), LOG_KEEP);
    await truncate(this.logFile(), 0);
    await appendFile(this.logFile(), tail);
  }

  /** One command on the admin socket; its whole answer. */
  admin(command: string): Promise<string> {
    return adminCommand(this.socket, command);
  }

  /** Runs the steps in order until one is not answered as it should be: null when all were, else that command and its answer. */
  async adminSteps(steps: readonly AdminStep[]): Promise<string | null> {
    for (const s of steps) {
      const answer = await this.admin(s.command).catch((err: Error) => err.message);
      if (!s.ok.test(answer)) return `${s.command.split('\n')[0]}: ${answer.trim()}`;
    }
    return null;
  }

  stop(): Promise<void> {
    return stopHaproxy(this.dir);
  }
}

/** The last `bytes` of a file (from a line's start where one begins in them). */
async function tailOf(file: string, bytes: number): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const start = Math.max(0, size - bytes);
    const buf = Buffer.alloc(size - start);
    await fh.read(buf, 0, buf.length, start);
    const text = buf.toString('utf8');
    return start > 0 && text.includes('\n') ? text.slice(text.indexOf('\n') + 1) : text;
  } finally {
    await fh.close();
  }
}

/** One command on haproxy's admin socket; its whole answer. */
function adminCommand(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(socket);
    let out = '';
    s.setTimeout(3000, () => s.destroy(new Error('haproxy admin socket timed out')));
    s.on('data', (d) => (out += d.toString()));
    s.on('end', () => resolve(out));
    s.on('error', reject);
    s.end(`${command}\n`);
  });
}

/** Stops the haproxy a gateway state dir runs (master and workers); none running is fine. */
export async function stopHaproxy(dir: string): Promise<void> {
  const pid = await readPid(join(dir, 'haproxy.pid'));
  await terminate(pid, join(proxyRunDir(dir), CONFIG));
  // One an older node started as root, with its config and socket in dir.
  await terminate(pid, join(dir, CONFIG));
  await rm(join(dir, 'haproxy.pid'), { force: true });
  await rm(proxyRunDir(dir), { recursive: true, force: true });
}
