import { spawn } from 'node:child_process';
import { open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from '../exec.ts';
import type { Logger } from '../../../lib/log.ts';
import type { Netns } from './ip.ts';
import { renderWgConfig, type WgInterfaceConfig } from './wgconf.ts';

/**
 * wireguard-go processes (there is no kernel WireGuard here). Each runs detached in its own
 * session with its output in a log file, so it outlives a `kill -9` of the node and is adopted
 * by pid on restart. Its UDP socket is opened by wireguard-go in the namespace it was started
 * in (the node's public namespace, or the node's own), never by the node process. UAPI sockets live in one host-wide directory,
 * hence host-unique interface names (names.ts).
 */

export const WG_SOCKET_DIR = '/var/run/wireguard';
const socketOf = (iface: string) => join(WG_SOCKET_DIR, `${iface}.sock`);

/** Whether `pid` is a live wireguard-go serving `iface` (not a zombie, not a reused pid). */
export async function isWireguardGo(pid: number, iface: string): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const [cmdline, stat] = await Promise.all([
    readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => ''),
    readFile(`/proc/${pid}/stat`, 'utf8').catch(() => ''),
  ]);
  const argv = cmdline.split('\0');
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return argv.some((a) => a.endsWith('wireguard-go')) && argv.includes(iface) && state !== 'Z' && state !== '';
}

/**
 * Whether process `pid` runs in namespace `ns` (undefined: the node's own). Compared by the
 * namespace's inode, not a stored name: a namespace deleted and made again under the same name
 * is another one, and a record may predate the name (an older node).
 */
export async function runsInNetns(pid: number, ns: Netns): Promise<boolean> {
  const ino = (path: string) => stat(path).then((s) => `${s.dev}:${s.ino}`, () => null);
  const [proc, want] = await Promise.all([ino(`/proc/${pid}/ns/net`), ino(ns ? `/run/netns/${ns}` : '/proc/self/ns/net')]);
  return proc !== null && proc === want;
}

async function exists(path: string): Promise<boolean> {
  return (await readFile(path).then(() => true, (e: NodeJS.ErrnoException) => e.code !== 'ENOENT'));
}

/**
 * Starts `wireguard-go -f iface` in `ns` and waits for its UAPI socket. A stale socket from a
 * killed process is removed first (wireguard-go refuses to start over it).
 */
export async function startWireguardGo(o: { iface: string; ns: Netns; logFile: string; log?: Logger }): Promise<number> {
  await rm(socketOf(o.iface), { force: true });
  // Its output goes to the log file directly (an inherited descriptor, no pipe through the node,
  // which may die before it) and no shell stands between: the pid is wireguard-go's
  // (`ip netns exec` execs it), and the OS image has no shell.
  const argv = ['wireguard-go', '-f', o.iface];
  const cmd = o.ns ? ['ip', 'netns', 'exec', o.ns, ...argv] : argv;
  const out = await open(o.logFile, 'a', 0o600);
  let exited = false;
  let pid: number | undefined;
  try {
    const child = spawn(cmd[0]!, cmd.slice(1), {
      detached: true,
      stdio: ['ignore', out.fd, out.fd],
      env: { ...process.env, WG_PROCESS_FOREGROUND: '1', LOG_LEVEL: 'error' },
    });
    child.on('error', () => (exited = true));
    child.on('exit', () => (exited = true));
    child.unref();
    pid = child.pid;
  } finally {
    // The child has its own copy of the descriptor from the spawn on.
    await out.close();
  }
  if (pid === undefined) throw new Error(`could not start wireguard-go for ${o.iface}`);
  for (let waited = 0; waited < 10_000; waited += 20) {
    if (exited) break;
    if (await exists(socketOf(o.iface))) {
      o.log?.debug({ iface: o.iface, pid }, 'wireguard-go started');
      return pid;
    }
    await sleep(20);
  }
  process.kill(pid, 'SIGKILL');
  const tail = (await readFile(o.logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-3).join('; ');
  throw new Error(`wireguard-go for ${o.iface} did not start${tail ? `: ${tail}` : ''}`);
}

/** Stops a wireguard-go (SIGTERM, then SIGKILL after 3 s); its interface and socket go with it. */
export async function stopWireguardGo(pid: number | undefined, iface: string): Promise<void> {
  if (pid !== undefined && (await isWireguardGo(pid, iface))) {
    process.kill(pid, 'SIGTERM');
    for (let waited = 0; waited < 3000 && (await isWireguardGo(pid, iface)); waited += 20) await sleep(20);
    if (await isWireguardGo(pid, iface)) process.kill(pid, 'SIGKILL');
  }
  await rm(socketOf(iface), { force: true });
}

/**
 * Applies keys, port and peers with `wg syncconf`: peers that did not change keep their
 * sessions. The file holding the private key lives only for the call, mode 0600.
 */
export async function configureWireguard(iface: string, config: WgInterfaceConfig, scratchDir: string, log?: Logger): Promise<void> {
  const file = join(scratchDir, `${iface}.conf`);
  await writeFile(file, renderWgConfig(config), { mode: 0o600 });
  try {
    await run('wg', ['syncconf', iface, file], { log });
  } finally {
    await rm(file, { force: true });
  }
}

/**
 * The endpoints wireguard-go has for its peers, configured or learned from their packets (an
 * access peer that dialled in), by public key; empty when it does not answer.
 */
export async function wireguardEndpoints(iface: string): Promise<Map<string, string>> {
  const out = await run('wg', ['show', iface, 'endpoints']).catch(() => '');
  const pairs = out.split('\n').map((l) => l.split('\t')).filter(([key, ep]) => key && ep && ep !== '(none)');
  return new Map(pairs.map(([key, ep]) => [key!, ep!]));
}

/** Stops `iface` sending keepalives to the peers `keys` (they keep their sessions). */
export async function muteWireguard(iface: string, keys: string[]): Promise<void> {
  if (keys.length) await run('wg', ['set', iface, ...keys.flatMap((k) => ['peer', k, 'persistent-keepalive', 'off'])]);
}

/** Waits until every peer in `keys` has had a handshake on `iface`, for at most `ms`; whether they all did. */
export async function handshaken(iface: string, keys: string[], ms: number): Promise<boolean> {
  for (let waited = 0; ; waited += 20) {
    const out = await run('wg', ['show', iface, 'latest-handshakes']).catch(() => '');
    const at = new Map(out.split('\n').map((l) => l.split('\t') as [string, string]));
    if (keys.every((k) => Number(at.get(k) ?? 0) > 0)) return true;
    if (waited >= ms) return false;
    await sleep(20);
  }
}

/** Listen port wireguard-go reports for `iface` (UAPI), or undefined when it does not answer. */
export async function wireguardListenPort(iface: string): Promise<number | undefined> {
  const out = await run('wg', ['show', iface, 'listen-port']).catch(() => '');
  const port = Number.parseInt(out, 10);
  return Number.isFinite(port) ? port : undefined;
}
