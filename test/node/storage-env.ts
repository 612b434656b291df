// Shared setup for the storage tests: host feature detection, temp data dirs, leak checks.
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { execa } from 'execa';
import { silentLogger } from '../../lib/log.ts';
import { StorageHost, type StorageHostOptions } from '../../node/host/storage/index.ts';
import { requireHost } from '../helpers/host.ts';

export const MiB = 1024 ** 2;
export const POOL_SIZE = 512 * MiB;

let cachedReason: Promise<string | undefined> | undefined;

/** Why btrfs-on-loop tests cannot run here, or undefined when they can. */
export function btrfsUnavailable(): Promise<string | undefined> {
  cachedReason ??= (async () => {
    if (process.getuid?.() !== 0) return 'needs root (loop devices, mount, btrfs)';
    const fs = await readFile('/proc/filesystems', 'utf8');
    if (!/\bbtrfs\b/.test(fs)) return 'kernel has no btrfs (not in /proc/filesystems)';
    for (const tool of ['mkfs.btrfs', 'btrfs', 'losetup', 'chattr', 'blkid']) {
      const r = await execa('sh', ['-c', `command -v ${tool}`], { reject: false });
      if (r.exitCode !== 0) return `${tool} not installed (apt-get install btrfs-progs e2fsprogs mount util-linux)`;
    }
    return undefined;
  })();
  return cachedReason;
}

/** Skips (or fails under CI=true) when btrfs on loop is unavailable. */
export async function needBtrfs(t: TestContext): Promise<boolean> {
  const reason = await btrfsUnavailable();
  return requireHost(t, reason === undefined, reason ?? '');
}

/** Mounts below dir and loop devices backed by files below dir. */
export async function leftovers(dir: string): Promise<{ mounts: string[]; loops: string[] }> {
  const root = resolve(dir) + '/';
  const mounts = (await readFile('/proc/self/mounts', 'utf8'))
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m.startsWith(root));
  const list = await execa('losetup', ['-n', '-O', 'NAME,BACK-FILE', '-l'], { reject: false });
  const loops = String(list.stdout)
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => (f[1] ?? '').startsWith(root))
    .map((f) => f[0]!);
  return { mounts, loops };
}

/** Best-effort teardown whatever the test left: unmount, detach, remove. */
export async function scrub(dir: string): Promise<void> {
  const { mounts, loops } = await leftovers(dir);
  for (const m of mounts.reverse()) await execa('umount', ['-l', m], { reject: false });
  for (const l of loops) await execa('losetup', ['-d', l], { reject: false });
  await rm(dir, { recursive: true, force: true });
}

const cleanups = new WeakMap<TestContext, Array<() => Promise<unknown>>>();

/** Like t.after, but last registered runs first (node:test runs after hooks first-in first-out). */
export function defer(t: TestContext, fn: () => Promise<unknown>): void {
  let stack = cleanups.get(t);
  if (!stack) {
    const s: Array<() => Promise<unknown>> = [];
    cleanups.set(t, s);
    t.after(async () => {
      for (const f of s.reverse()) await f().catch((err: unknown) => console.error('cleanup failed', err));
    });
    stack = s;
  }
  stack.push(fn);
}

/** A fresh temp dir removed (after scrubbing mounts and loops) when the test ends. */
export async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'zos-storage-'));
  defer(t, () => scrub(dir));
  return dir;
}

/** A started StorageHost with one small image pool in a temp data dir; closed in t.after. */
export async function startHost(
  t: TestContext,
  opts: Partial<StorageHostOptions> & { dataDir?: string } = {},
): Promise<{ host: StorageHost; dataDir: string }> {
  const dataDir = opts.dataDir ?? (await tempDir(t));
  const host = new StorageHost({
    log: silentLogger(),
    pools: [{ name: 'default', image: { size: POOL_SIZE } }],
    ...opts,
    dataDir,
  });
  defer(t, () => host.close());
  await host.start();
  return { host, dataDir };
}

export async function listDir(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}
