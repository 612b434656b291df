import { HostCommandError, run, runResult, type RunOptions } from '../exec.ts';

/**
 * `ip`, sysctl and nft in a given network namespace. `undefined` is the namespace the node
 * runs in (the host on a real node; a lab namespace in tests).
 */
export type Netns = string | undefined;

const inNs = (ns: Netns, args: string[]) => (ns ? ['-n', ns, ...args] : args);

export function ip(ns: Netns, args: string[], opts?: RunOptions): Promise<string> {
  return run('ip', inNs(ns, args), opts);
}

/** Runs `cmd` inside `ns` (`ip netns exec`), or directly when ns is undefined. */
export function nsExec(ns: Netns, cmd: string, args: string[], opts?: RunOptions): Promise<string> {
  return ns ? run('ip', ['netns', 'exec', ns, cmd, ...args], opts) : run(cmd, args, opts);
}

export async function netnsList(): Promise<string[]> {
  const out = await run('ip', ['netns', 'list']);
  return out.split('\n').map((l) => l.trim().split(/\s+/)[0]!).filter(Boolean);
}

export async function netnsExists(name: string): Promise<boolean> {
  return (await netnsList()).includes(name);
}

/** Creates the namespace with `lo` up; an existing one is kept. */
export async function netnsEnsure(name: string, opts?: RunOptions): Promise<void> {
  if (await netnsExists(name)) return;
  await run('ip', ['netns', 'add', name], opts);
  await ip(name, ['link', 'set', 'lo', 'up'], opts);
}

/** Deletes the namespace; every interface inside goes with it (veth peers too). Missing is fine. */
export async function netnsDelete(name: string, opts?: RunOptions): Promise<void> {
  if (!(await netnsExists(name))) return;
  await run('ip', ['netns', 'delete', name], opts);
}

export async function linkExists(ns: Netns, name: string): Promise<boolean> {
  return (await runResult('ip', inNs(ns, ['link', 'show', 'dev', name]))).exitCode === 0;
}

/**
 * Deletes a link; a missing one is fine. No exists-check first: the host end of a veth whose
 * peer's namespace was just deleted vanishes on its own, at a moment of the kernel's choosing.
 */
export async function linkDelete(ns: Netns, name: string, opts?: RunOptions): Promise<void> {
  const res = await runResult('ip', inNs(ns, ['link', 'del', 'dev', name]), opts);
  if (res.exitCode !== 0 && !/Cannot find device/.test(res.stderr)) {
    throw new HostCommandError(['ip', ...inNs(ns, ['link', 'del', 'dev', name])].join(' '), res.exitCode, res.stderr, `exit code ${res.exitCode}`);
  }
}

export async function sysctl(ns: Netns, settings: Record<string, string | number>, opts?: RunOptions): Promise<void> {
  await nsExec(ns, 'sysctl', ['-qw', ...Object.entries(settings).map(([k, v]) => `${k}=${v}`)], opts);
}

/** Adds an address; one the interface has already is fine (idempotent provisioning). */
export async function addrEnsure(ns: Netns, dev: string, cidr: string, opts?: RunOptions): Promise<void> {
  await ip(ns, ['addr', 'replace', cidr, 'dev', dev], opts);
}

/** Loads an nft ruleset (a whole `table` block, replaced atomically when it starts with a flush). */
export async function nftApply(ns: Netns, ruleset: string, opts?: RunOptions): Promise<void> {
  await nsExec(ns, 'nft', ['-f', '-'], { ...opts, input: ruleset });
}

export async function nftDeleteTable(ns: Netns, family: string, table: string, opts?: RunOptions): Promise<void> {
  const res = await runResult(ns ? 'ip' : 'nft', ns ? ['netns', 'exec', ns, 'nft', 'delete', 'table', family, table] : ['delete', 'table', family, table], opts);
  if (res.exitCode !== 0 && !/No such file or directory/.test(res.stderr)) throw new Error(`nft delete table ${family} ${table}: ${res.stderr}`);
}

/** Creates a tap owned by the node in `ns`, on `bridge`, up. An existing tap is re-attached. */
export async function tapEnsure(ns: Netns, name: string, bridge: string, opts?: RunOptions): Promise<void> {
  if (!(await linkExists(ns, name))) await ip(ns, ['tuntap', 'add', 'dev', name, 'mode', 'tap'], opts);
  await ip(ns, ['link', 'set', 'dev', name, 'master', bridge, 'up'], opts);
}
