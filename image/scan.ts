import { lstatSync, readdirSync, readlinkSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { ImageError } from './errors.ts';
import { comparePaths } from './manifest.ts';

/** One filesystem object found under the build root, in manifest order. */
export interface ScanItem {
  path: string; // relative, "." for the root
  abs: string;
  st: BigIntStats;
  kind: 'dir' | 'file' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';
  /** For the 2nd+ name of a multiply-linked non-directory: the first name in manifest order. */
  linkOf?: string;
  target?: string;
}

function kindOf(st: BigIntStats): ScanItem['kind'] {
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'file';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return 'socket';
}

/**
 * Walk root without following symlinks; names must be valid UTF-8 (the manifest is JSON).
 * Synchronous calls: each is a few µs from the dentry cache, where a trip through libuv's pool
 * per entry made a 5 600-entry tree take 2.7 s (find: 16 ms); a build runs in the CLI, and its
 * file work is on worker threads meanwhile starting up.
 */
export async function scanTree(root: string): Promise<ScanItem[]> {
  const items: ScanItem[] = [];
  const rootSt = lstatSync(root, { bigint: true });
  if (!rootSt.isDirectory()) throw new ImageError('BAD_INPUT', `${root} is not a directory`);
  const walk = (rel: string, abs: string, st: BigIntStats): void => {
    const kind = kindOf(st);
    const item: ScanItem = { path: rel, abs, st, kind };
    if (kind === 'symlink') item.target = readlinkSync(abs);
    items.push(item);
    if (kind !== 'dir') return;
    for (const raw of readdirSync(abs, { encoding: 'buffer' })) {
      const name = raw.toString('utf8');
      if (!Buffer.from(name, 'utf8').equals(raw)) throw new ImageError('BAD_INPUT', `${join(abs, raw.toString('latin1'))}: file name is not valid UTF-8`);
      const childAbs = join(abs, name);
      walk(rel === '.' ? name : `${rel}/${name}`, childAbs, lstatSync(childAbs, { bigint: true }));
    }
  };
  walk('.', root, rootSt);
  items.sort((a, b) => comparePaths(a.path, b.path));
  const firstName = new Map<string, string>();
  for (const it of items) {
    if (it.kind !== 'file' || it.st.nlink < 2n) continue; // the manifest links regular files only
    const key = `${it.st.dev}:${it.st.ino}`;
    const first = firstName.get(key);
    if (first === undefined) firstName.set(key, it.path);
    else it.linkOf = first;
  }
  return items;
}

/** Linux dev_t split (glibc gnu_dev_major/minor). */
export function splitRdev(rdev: bigint): { major: number; minor: number } {
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
  return { major, minor };
}
