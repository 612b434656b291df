import assert from 'node:assert/strict';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import type { Deployment } from '../../node/model/index.ts';
import { fileSize, poolMount, quotaOf, vdiskPath, volumePath } from './deployments.ts';
import { loopDevicesUnder, mountsUnder } from './host.ts';

/**
 * The host holds exactly what `dls` (a node's active deployments) say: one subvolume per volume
 * with its size as quota, one disk file per zmount at its size, the pool's one loop device and mount
 * (under the pools' shared parent, see sharePoolsDir).
 */
export async function assertHostMatches(dataDir: string, dls: Deployment[]): Promise<void> {
  const pool = poolMount(dataDir);
  const listed = await execa('btrfs', ['subvolume', 'list', '-o', pool]);
  const subvolumes = String(listed.stdout).split('\n').filter(Boolean).map((l) => l.split(' path ')[1]!.split('/').pop()!).filter((n) => n !== 'vdisks').sort();
  const wants = (type: string) => dls.flatMap((dl) => dl.workloads.filter((w) => w.type === type).map((w) => [`${dl.twin_id}-${dl.contract_id}-${w.name}`, (w.data as { size: number }).size] as const));
  assert.deepEqual(subvolumes, wants('volume').map(([id]) => id).sort(), 'subvolumes');
  for (const [id, size] of wants('volume')) assert.equal(await quotaOf(volumePath(dataDir, id)), size, `quota of ${id}`);
  const disks = (await readdir(join(pool, 'vdisks'))).sort();
  assert.deepEqual(disks, wants('zmount').map(([id]) => id).sort(), 'disk files');
  for (const [id, size] of wants('zmount')) assert.equal(await fileSize(vdiskPath(dataDir, id)), size, `size of ${id}`);
  assert.equal((await loopDevicesUnder(dataDir)).length, 1, 'one loop device (the pool), none leaked by restarts');
  assert.deepEqual(await mountsUnder(dataDir), [pool, dirname(pool)], 'the pool and its shared parent are the only mounts, none added by restarts');
}

/** Processes whose command line or working directory names `dir` (what a killed node could leave running). */
export async function processesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replace(/\0/g, ' ').trim();
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => '');
    if (cmd.includes(dir) || cwd.startsWith(dir)) out.push(`${pid} ${cmd}`);
  }
  return out;
}

/**
 * What a process is doing, for a failed test's log: each thread's name, state, kernel wait channel
 * and system call (from /proc), or that it is gone. The chaos storm prints its node's when it fails
 * (twice in CI, 2026-12-02, the node's log went silent for 3 min: this tells a hang from an exit).
 */
export async function processReport(pid: number | undefined): Promise<string> {
  if (!pid) return 'no process';
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => null);
  if (!tasks) return `pid ${pid} is gone`;
  const lines = await Promise.all(tasks.map(async (tid) => {
    const read = (f: string) => readFile(`/proc/${pid}/task/${tid}/${f}`, 'utf8').then((s) => s.trim(), () => '?');
    const stat = await read('stat');
    return `${tid} ${await read('comm')} ${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]} wchan=${await read('wchan')} syscall=${(await read('syscall')).split(' ')[0]}`;
  }));
  return `pid ${pid}: ${lines.join('; ')}`;
}
