import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';

/**
 * Processes a VM owns (QEMU, virtiofsd) outlive the node on purpose (kill -9 of the node must
 * not take VMs down), so they are tracked by pid files and recognised by their command line
 * (a pid alone may have been reused).
 */
export async function cmdlineOf(pid: number): Promise<string | undefined> {
  const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  return raw?.split('\0').join(' ');
}

/** True when `pid` is alive, not a zombie, and its command line contains `marker`. */
export async function aliveWith(pid: number | undefined, marker: string): Promise<boolean> {
  if (!pid) return false;
  const st = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  if (!st || / Z /.test(st.slice(st.lastIndexOf(')')))) return false;
  return (await cmdlineOf(pid))?.includes(marker) ?? false;
}

export async function readPid(file: string): Promise<number | undefined> {
  const n = Number((await readFile(file, 'utf8').catch(() => '')).trim());
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

export async function waitFor(cond: () => Promise<boolean>, timeoutMs: number, stepMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/**
 * SIGTERM, then SIGKILL after `graceMs`, if it is still the process we started. Killed, it leaves
 * its children (haproxy's workers, which hold its listening sockets) to die on their own, maybe
 * after the next start needs its port: so its process group (spawnDetached makes each daemon a
 * group's leader, and Linux does not reuse a pid while a group of that id lives) is killed too,
 * and waited for.
 */
export async function terminate(pid: number | undefined, marker: string, graceMs = 3000): Promise<void> {
  if (!(await aliveWith(pid, marker))) return;
  try {
    process.kill(pid!, 'SIGTERM');
  } catch {
    return;
  }
  if (await waitFor(async () => !(await aliveWith(pid, marker)), graceMs)) return;
  for (const target of [pid!, -pid!]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // gone already, or no group of that id (not one of ours)
    }
  }
  await waitFor(async () => !(await aliveWith(pid, marker)) && !groupAlive(pid!), 2000);
}

/** Whether any process is left in process group `pgid`. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Start a long-lived daemon in its own session with output appended to `logFile`; not tied to the node. */
export function spawnDetached(cmd: string, args: string[], logFile: string): number {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd] });
    child.unref();
    if (!child.pid) throw new Error(`cannot start ${cmd}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

export async function fileSize(path: string): Promise<number> {
  return (await stat(path).catch(() => undefined))?.size ?? 0;
}

export async function removeFile(path: string): Promise<void> {
  await rm(path, { force: true });
}
