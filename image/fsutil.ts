import { linkSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { ImageError, isNotFound } from './errors.ts';
import { newHasher } from './hash.ts';

/**
 * Write a file so readers see the old or the new content, never a mix. Synchronous: a few short
 * calls (a verification record: ~100 KB for 700 entries), each of which would wait for a
 * thread-pool turn at the end of every materialize.
 */
export function atomicWriteFile(path: string, data: string | Uint8Array): void {
  const tmp = join(dirname(path), `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

export function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

const HASH_BLOCK = 4 << 20;

/**
 * A file's BLAKE3 hex, read in large sequential blocks. Hashing is native and several times
 * faster than the reads, so it runs on this thread; two buffers let one block be read while the
 * previous one is hashed.
 */
export async function hashFile(path: string, onBytes: (n: number) => void = () => {}): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const h = newHasher();
    const block = Math.min(HASH_BLOCK, (await fh.stat()).size + 1);
    const bufs = [Buffer.allocUnsafe(block), Buffer.allocUnsafe(block)];
    let next = fh.read(bufs[0]!, 0, block, null);
    for (let i = 0; ; i ^= 1) {
      const { bytesRead } = await next;
      if (bytesRead === 0) break;
      next = fh.read(bufs[i ^ 1]!, 0, block, null);
      h.update(bufs[i]!.subarray(0, bytesRead));
      onBytes(bytesRead);
    }
    return h.digestHex();
  } finally {
    await fh.close();
  }
}

/**
 * Runs `fn`, which creates `path` in a directory that may not exist yet: the directory is made
 * first (recursively, with `mode`) unless this thread made or met it before, so a new directory
 * costs one mkdir instead of a failed call, its exception and a retry. A directory remembered but
 * gone since (a staged tree removed after a failure) is made again on ENOENT. Directories are made
 * only where a file needs them, on the file workers, where that costs no main-thread time ahead of
 * them (a new inode can cost ~0.3 ms on a churned ext4).
 */
export function makingParent<T>(path: string, mode: number | undefined, fn: () => T): T {
  const dir = dirname(path);
  if (!knownDirs.has(dir)) makeDir(dir, mode);
  try {
    return fn();
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  makeDir(dir, mode);
  return fn();
}

/** Directories this thread made or found (bounded: a long-lived worker forgets them in bulk). */
const knownDirs = new Set<string>();
function makeDir(dir: string, mode: number | undefined): void {
  mkdirSync(dir, { recursive: true, ...(mode === undefined ? {} : { mode }) });
  if (knownDirs.size >= 4096) knownDirs.clear();
  knownDirs.add(dir);
}

/** Hard-link `at` at each of `links`, making missing directories (0700); a vanished `at` is STORE_IO. */
export function linkAll(at: string, links: readonly string[] = []): void {
  for (const l of links) {
    try {
      makingParent(l, 0o700, () => linkSync(at, l));
    } catch (err) {
      if (!isNotFound(err)) throw err;
      throw new ImageError('STORE_IO', `${at} vanished while linking ${l} (concurrent gc?)`, { cause: err });
    }
  }
}

/**
 * Gives the checked file `from` the name `to` as well (a hard link), replacing what is there: a
 * copy found changed, or an equal one a concurrent materialize published first. The replacement
 * is a rename, atomic, after which `from` is linked back.
 */
export function publishLink(from: string, to: string): void {
  try {
    linkSync(from, to);
    return;
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw err;
  }
  renameSync(from, to);
  linkSync(to, from);
}
