// Getting a pool's block devices ready: sparse image + loop device, filesystem probe/mkfs, mounts.
import { mkdir, open, readFile, realpath, rm, stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { run, runResult, type RunOptions } from '../exec.ts';
import { StorageError } from './errors.ts';
import { parseBlkidExport, parseLosetupNames, parseProcMounts, type MountEntry } from './parse.ts';
import type { PoolType } from './types.ts';

export interface AttachedImage {
  device: string;
  /** This call created the image file (undo removes it). */
  created: boolean;
  /** This call attached the loop device (undo detaches it). */
  attached: boolean;
  /** The file was grown to the configured size; the mounted filesystem must be resized. */
  grown: boolean;
}

/** Loop devices currently backed by this file. */
export async function loopDevicesFor(image: string, opts: RunOptions): Promise<string[]> {
  return parseLosetupNames(await run('losetup', ['-n', '-O', 'NAME', '-j', image], opts));
}

async function createSparse(path: string, size: number): Promise<boolean> {
  try {
    const fh = await open(path, 'wx', 0o600);
    try {
      await fh.truncate(size);
    } finally {
      await fh.close();
    }
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    await rm(path, { force: true });
    throw err;
  }
}

/**
 * Make sure the sparse image exists (at least `size` bytes) and is on a loop device,
 * re-using the loop device a previous run left attached.
 */
export async function attachImage(image: string, size: number, opts: RunOptions): Promise<AttachedImage> {
  const created = await createSparse(image, size);
  let grown = false;
  if (!created) {
    const st = await stat(image);
    if (!st.isFile()) throw new StorageError('HOST', `pool image ${image} is not a regular file`);
    if (st.size < size) {
      // A larger configured size grows the pool; a smaller one is ignored (btrfs shrink is not worth the risk).
      const fh = await open(image, 'r+');
      await fh.truncate(size).finally(() => fh.close());
      grown = true;
    } else if (st.size > size) {
      opts.log?.warn({ image, size: st.size, configured: size }, 'pool image is larger than configured; keeping it');
    }
  }
  try {
    const existing = await loopDevicesFor(image, opts);
    if (existing.length > 0) {
      const device = existing[0]!;
      if (grown) await run('losetup', ['-c', device], opts);
      return { device, created, attached: false, grown };
    }
    const device = await run('losetup', ['--find', '--show', image], opts);
    if (!device.startsWith('/dev/')) throw new StorageError('HOST', `losetup printed no device for ${image}`);
    return { device, created, attached: true, grown };
  } catch (err) {
    if (created) await rm(image, { force: true });
    throw err;
  }
}

export async function detachImage(image: string, opts: RunOptions): Promise<void> {
  for (const dev of await loopDevicesFor(image, opts)) await run('losetup', ['-d', dev], opts);
}

/** Low-level probe (no blkid cache): {} for a blank device, else TYPE/LABEL/UUID... */
export async function probeDevice(device: string, opts: RunOptions): Promise<Record<string, string>> {
  const res = await runResult('blkid', ['-p', '-o', 'export', device], opts);
  if (res.exitCode === 2) return {}; // nothing recognised
  if (res.exitCode !== 0) throw new StorageError('HOST', `blkid ${device}: exit code ${res.exitCode}: ${res.stderr}`);
  return parseBlkidExport(res.stdout);
}

/**
 * Create the btrfs filesystem unless the devices already carry ours. Devices with any other
 * signature (another filesystem, another btrfs label, a partition table) are only formatted with `force`.
 * Returns true when it ran mkfs.
 */
export async function ensureFilesystem(
  devices: readonly string[],
  label: string,
  force: boolean,
  opts: RunOptions,
): Promise<boolean> {
  const probes = await Promise.all(devices.map((d) => probeDevice(d, opts)));
  const ours = probes.map((p) => p.TYPE === 'btrfs' && p.LABEL === label);
  if (ours.every(Boolean) && new Set(probes.map((p) => p.UUID)).size === 1) return false;
  const foreign = devices.filter((_, i) => !ours[i] && Object.keys(probes[i]!).length > 0);
  const partial = ours.some(Boolean);
  if ((foreign.length > 0 || partial) && !force) {
    const what = foreign
      .map((d) => {
        const p = probes[devices.indexOf(d)]!;
        return `${d} (${p.TYPE ?? p.PTTYPE ?? 'unknown'}${p.LABEL ? ` label ${p.LABEL}` : ''})`;
      })
      .join(', ');
    throw new StorageError(
      'FOREIGN_FILESYSTEM',
      `refusing to format ${what || 'a partly formatted device set'} for pool label ${label}: set force to overwrite`,
    );
  }
  await run('mkfs.btrfs', ['-q', '-f', '-L', label, '-d', 'single', ...devices], opts);
  return true;
}

export async function readMounts(): Promise<MountEntry[]> {
  return parseProcMounts(await readFile('/proc/self/mounts', 'utf8'));
}

/** The topmost mount at exactly this path, if any. */
export async function mountAt(path: string): Promise<MountEntry | undefined> {
  const target = resolve(path);
  return (await readMounts()).filter((m) => m.target === target).at(-1);
}

/**
 * Makes `dir` (the pools' parent) a shared mount, binding it onto itself first if it is none. A
 * process that enters a new mount namespace (`ip netns exec`, which makes its copy a slave) keeps a
 * copy of every mount; on a host whose / is private an unmount would not reach that copy, and the
 * pool's loop device would stay busy until the process exits. Under a shared parent it does.
 * Returns whether this call made the bind mount (its caller undoes it).
 */
export async function sharePoolsDir(dir: string, opts: RunOptions): Promise<boolean> {
  await mkdir(dir, { recursive: true });
  const bound = !(await mountAt(dir));
  if (bound) await run('mount', ['--bind', dir, dir], opts);
  await run('mount', ['--make-shared', dir], opts);
  return bound;
}

export async function mountPool(devices: readonly string[], mountpoint: string, opts: RunOptions): Promise<void> {
  // A multi-device filesystem is only mountable after the kernel has seen all its members.
  if (devices.length > 1) await run('btrfs', ['device', 'scan', ...devices], opts);
  await run('mount', ['-t', 'btrfs', devices[0]!, mountpoint], opts);
}

/** SSD unless the kernel says the (parent) device rotates. Loop devices report rotational=1. */
export async function detectPoolType(device: string): Promise<PoolType> {
  const name = basename(await realpath(device));
  for (const p of [`/sys/class/block/${name}/queue/rotational`, `/sys/class/block/${name}/../queue/rotational`]) {
    try {
      return (await readFile(p, 'utf8')).trim() === '1' ? 'hdd' : 'ssd';
    } catch {
      // a partition has no queue/ of its own: try the parent
    }
  }
  return 'ssd';
}
