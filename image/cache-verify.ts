import { readFile } from 'node:fs/promises';
import { lstatSync, readdirSync, readlinkSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { ImageError, isNotFound } from './errors.ts';
import type { Entry, FileEntry, Manifest } from './manifest.ts';
import { mapLimit, mapSliced } from '../lib/parallel.ts';
import { splitRdev } from './scan.ts';
import { atomicWriteFile, hashFile } from './fsutil.ts';
import { parseGetfattrDump, type Xattrs } from './xattr.ts';

/**
 * Launch-time verification of a materialized tree (SPEC.md §8). After a full check we record each
 * path's (dev, ino, size, mtime_ns, ctime_ns). Next time, entries whose stat tuple is unchanged are
 * trusted (user space cannot set ctime back); any other file is re-hashed and its xattrs re-read.
 */
export const STATE_VERSION = 1;
type Tuple = [string, string, string, string, string];
export interface State {
  version: number;
  digest: string;
  entries: Record<string, Tuple>;
}

export interface VerifyTreeResult {
  checked: number;
  rehashed: number;
  rehashedBytes: number;
}

function tupleOf(st: BigIntStats): Tuple {
  return [st.dev.toString(), st.ino.toString(), st.size.toString(), st.mtimeNs.toString(), st.ctimeNs.toString()];
}

async function loadState(path: string, digest: string): Promise<State | undefined> {
  try {
    const s = JSON.parse(await readFile(path, 'utf8')) as State;
    return s.version === STATE_VERSION && s.digest === digest && typeof s.entries === 'object' ? s : undefined;
  } catch (err) {
    if (isNotFound(err) || err instanceof SyntaxError) return undefined;
    throw err;
  }
}

const MTIME_SLACK_NS = 2000n; // utimes() takes doubles: microsecond precision

export interface VerifyTreeOptions {
  withOwners: boolean;
  onBytes?: (n: number) => void;
  /**
   * Directories that are mount points in a running system (the OS root's proc, dev, run...):
   * the manifest holds them as empty directories; what is mounted there is not checked.
   */
  mountPoints?: ReadonlySet<string>;
  /**
   * The caller hashed every regular file of this tree moments ago (a materialize that just wrote
   * each object, hashing it while writing, or re-hashed an existing one): files are checked by
   * metadata only and their stat tuples recorded, instead of being read a second time.
   */
  contentVerified?: boolean;
  /**
   * With contentVerified: the caller also set every entry's extended attributes moments ago
   * except these paths' (files linked to objects that existed before), so only these are read
   * back (none: no getfattr at all).
   */
  xattrsUnknown?: ReadonlySet<string>;
  /** The tree's name in messages, when it is checked elsewhere (a staged tree, before its rename). */
  shownAs?: string;
}

/** A tree checked against its manifest: the result and the stat tuples to record. */
export interface CheckedTree {
  result: VerifyTreeResult;
  tuples: Record<string, Tuple>;
  /** Some tuple differs from the record read (or there was none): the record is to be written. */
  changed: boolean;
}

/** `statePath` null: no record is read or written (every file is hashed, e.g. the OS root at boot). */
export async function verifyTree(
  tree: string,
  statePath: string | null,
  digest: string,
  m: Manifest,
  opts: VerifyTreeOptions,
): Promise<VerifyTreeResult> {
  const state = statePath === null ? undefined : await loadState(statePath, digest);
  const checked = await checkTree(tree, state, digest, m, opts);
  if (statePath !== null && checked.changed) writeState(statePath, digest, checked.tuples);
  return checked.result;
}

/**
 * Records a tree checked (checkTree) while it was staged, once it has been renamed to `tree`: the
 * rename changed the root directory's ctime, no other entry's.
 */
export async function recordRenamedTree(tree: string, statePath: string, digest: string, checked: CheckedTree): Promise<void> {
  checked.tuples['.'] = tupleOf(lstatSync(tree, { bigint: true }));
  writeState(statePath, digest, checked.tuples);
}

function writeState(statePath: string, digest: string, entries: Record<string, Tuple>): void {
  atomicWriteFile(statePath, JSON.stringify({ version: STATE_VERSION, digest, entries }));
}

/** The checks of verifyTree (SPEC.md §8) against `state` (a record read before, if any), recording nothing. */
export async function checkTree(tree: string, state: State | undefined, digest: string, m: Manifest, opts: VerifyTreeOptions): Promise<CheckedTree> {
  const tampered = (path: string, why: string) =>
    new ImageError('FILE_TAMPERED', `image blake3:${digest}: "${path}" in ${opts.shownAs ?? tree} ${why}; refusing to use it (remove the cache entry to rebuild it)`);
  const mounts = opts.mountPoints ?? new Set<string>();
  const next: Record<string, Tuple> = {};
  const suspects: Entry[] = [];
  const rehash: Array<[FileEntry, string]> = [];
  const byPath = new Map<string, Entry>();
  const inodeOf = new Map<string, bigint>();
  const result: VerifyTreeResult = { checked: 0, rehashed: 0, rehashedBytes: 0 };
  // Every path is stat'ed (and every symlink read) first, synchronously in slices (a few µs a
  // call, against tens through the thread pool); the checks then go in manifest order, so the
  // first problem reported is the first in the manifest.
  const absOf = (e: Entry) => (e.path === '.' ? tree : join(tree, e.path));
  const seen = await mapSliced(m.entries, (e) => {
    const st = lstatSync(absOf(e), { bigint: true, throwIfNoEntry: false });
    if (!st) return null;
    try {
      return { st, target: e.type === 'symlink' && st.isSymbolicLink() ? readlinkSync(absOf(e)) : undefined };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  });
  for (const [i, e] of m.entries.entries()) {
    byPath.set(e.path, e);
    const abs = absOf(e);
    const got = seen[i];
    if (!got) throw tampered(e.path, 'is missing');
    const st = got.st;
    result.checked++;
    inodeOf.set(e.path, st.ino);
    if (mounts.has(e.path)) {
      if (!st.isDirectory()) throw tampered(e.path, 'is not a directory (mount point)');
      continue;
    }
    const why = checkMeta(e, st, opts.withOwners, inodeOf);
    if (why) throw tampered(e.path, why);
    if (e.type === 'symlink' && got.target !== e.target) throw tampered(e.path, 'points somewhere else');
    if (e.type === 'hardlink') continue;
    const tuple = tupleOf(st);
    const known = state?.entries[e.path];
    if (!known || known.join() !== tuple.join()) {
      suspects.push(e);
      if (e.type === 'file' && !opts.contentVerified) rehash.push([e, abs]);
    }
    next[e.path] = tuple;
  }
  // Changed files are hashed a few at a time (reads overlap); the first mismatch in manifest order is reported.
  const verdicts = await mapLimit(rehash, 4, async ([e, abs]) => (await hashFile(abs, opts.onBytes)) === e.blake3);
  const bad = rehash.find((_, i) => !verdicts[i]);
  if (bad) throw tampered(bad[0].path, 'was modified (content does not match its BLAKE3 fingerprint)');
  result.rehashed += rehash.length;
  result.rehashedBytes += rehash.reduce((n, [e]) => n + e.size, 0);
  await checkNoExtras(tree, m, byPath, mounts, tampered);
  const unknown = opts.contentVerified ? opts.xattrsUnknown : undefined;
  await checkXattrs(tree, unknown ? suspects.filter((e) => unknown.has(e.path)) : suspects, tampered);
  return { result, tuples: next, changed: !state || suspects.length > 0 };
}

function checkMeta(e: Entry, st: BigIntStats, withOwners: boolean, inodeOf: Map<string, bigint>): string | undefined {
  const typeOk =
    (e.type === 'dir' && st.isDirectory()) ||
    ((e.type === 'file' || e.type === 'hardlink') && st.isFile()) ||
    (e.type === 'symlink' && st.isSymbolicLink()) ||
    (e.type === 'char' && st.isCharacterDevice()) ||
    (e.type === 'block' && st.isBlockDevice()) ||
    (e.type === 'fifo' && st.isFIFO());
  if (!typeOk) return `is not a ${e.type}`;
  if (e.type === 'hardlink') return inodeOf.get(e.target) === st.ino ? undefined : `is no longer a hard link to "${e.target}"`;
  if (e.type !== 'symlink' && Number(st.mode & 0o7777n) !== e.mode) return `has mode ${(st.mode & 0o7777n).toString(8)}, expected ${e.mode.toString(8)}`;
  if (withOwners && (Number(st.uid) !== e.uid || Number(st.gid) !== e.gid)) return `is owned by ${st.uid}:${st.gid}, expected ${e.uid}:${e.gid}`;
  if (e.type === 'file' && Number(st.size) !== e.size) return `has size ${st.size}, expected ${e.size}`;
  if (e.type === 'file' || e.type === 'symlink') {
    const d = st.mtimeNs - BigInt(e.mtime);
    if (d > MTIME_SLACK_NS || d < -MTIME_SLACK_NS) return 'has a different mtime';
  }
  if (e.type === 'char' || e.type === 'block') {
    const { major, minor } = splitRdev(st.rdev);
    if (major !== e.major || minor !== e.minor) return `is device ${major}:${minor}, expected ${e.major}:${e.minor}`;
  }
  return undefined;
}

async function checkNoExtras(
  tree: string,
  m: Manifest,
  byPath: Map<string, Entry>,
  mounts: ReadonlySet<string>,
  tampered: (p: string, why: string) => Error,
): Promise<void> {
  const dirs = m.entries.filter((e) => e.type === 'dir' && !mounts.has(e.path));
  const listed = await mapSliced(dirs, (e) => readdirSync(e.path === '.' ? tree : join(tree, e.path)));
  for (const [i, e] of dirs.entries()) {
    for (const name of listed[i]!) {
      const p = e.path === '.' ? name : `${e.path}/${name}`;
      if (!byPath.has(p)) throw tampered(p, 'is not part of the image (added behind our back)');
    }
  }
}

async function checkXattrs(tree: string, suspects: Entry[], tampered: (p: string, why: string) => Error): Promise<void> {
  const withX = suspects.filter((e) => e.type !== 'hardlink');
  if (withX.length === 0) return;
  const expected = (e: Entry): Xattrs => ('xattrs' in e && e.xattrs) || {};
  if (!withX.some((e) => Object.keys(expected(e)).length > 0) && !(await toolAvailable())) return;
  for (let i = 0; i < withX.length; i += 500) {
    const batch = withX.slice(i, i + 500);
    const r = await execa('getfattr', ['-h', '-d', '-m', '-', '-e', 'base64', '--', ...batch.map((e) => e.path)], { cwd: tree, reject: false, maxBuffer: 1 << 28 });
    if (r.exitCode !== 0 && r.stderr.trim() !== '') throw new ImageError('HOST', `getfattr in ${tree}: ${r.stderr.trim()}`);
    const got = parseGetfattrDump(r.stdout);
    for (const e of batch) {
      const a = got.get(e.path) ?? {};
      const b = expected(e);
      const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
      for (const k of keys) if (a[k] !== b[k]) throw tampered(e.path, `has a different extended attribute ${k}`);
    }
  }
}

let tool: Promise<boolean> | undefined;
function toolAvailable(): Promise<boolean> {
  tool ??= execa('getfattr', ['--version'], { reject: false }).then((r) => r.exitCode === 0, () => false);
  return tool;
}
