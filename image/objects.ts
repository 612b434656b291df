import { chmod, chown, link, mkdir, open, rename, rm, stat, utimes } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { mapLimit } from '../lib/parallel.ts';
import { openChunkAsync } from './chunk-codec.ts';
import { canonicalJson } from './canonical-json.ts';
import { ImageError, isNotFound } from './errors.ts';
import { blake3Hex, newHasher } from './hash.ts';
import type { FileEntry } from './manifest.ts';
import { runFileJobs } from './file-jobs.ts';
import type { FileMeta } from './file-worker.ts';
import { DirStore } from './store/dir-store.ts';
import type { ChunkStore } from './store/types.ts';
import { writeXattrs } from './xattr.ts';
import { errnoCode } from './fsutil.ts';

/**
 * The node's file object pool (SPEC.md §7): one inode per distinct (content, mode, owner, mtime,
 * xattrs), hard-linked into every materialized image that contains such a file. Files shared by
 * images, VMs and containers therefore exist once on disk and in the page cache.
 */
export function objectKey(e: FileEntry, withOwners: boolean): string {
  return blake3Hex(
    new TextEncoder().encode(
      canonicalJson({ blake3: e.blake3, size: e.size, mode: e.mode, uid: withOwners ? e.uid : 0, gid: withOwners ? e.gid : 0, mtime: e.mtime, xattrs: e.xattrs ?? {} }),
    ),
  );
}

export class ObjectPool {
  constructor(
    readonly dir: string,
    private readonly tmpDir: string,
    private readonly withOwners: boolean,
  ) {}

  path(key: string): string {
    return join(this.dir, key.slice(0, 2), key);
  }

  /**
   * Make sure every file's object exists and holds the right bytes, and hard-link it at the file's
   * path under `tree` (whose directories exist): existing objects are re-hashed (they may have
   * been modified since), missing ones are written from verified chunks. On a directory store's
   * worker threads each object is written, given its metadata, renamed into objects/ and linked
   * in one go; objects with extended attributes (set here, between owner and mode) and objects
   * from other stores are finished on this thread.
   */
  async ensure(files: FileEntry[], chunks: ChunkStore, tree: string, onBytes: (n: number) => void): Promise<EnsureResult> {
    const byKey = new Map<string, { f: FileEntry; paths: string[]; links: string[] }>();
    for (const f of files) {
      const key = objectKey(f, this.withOwners);
      const o = byKey.get(key) ?? { f, paths: [], links: [] };
      o.paths.push(f.path);
      o.links.push(join(tree, f.path));
      byKey.set(key, o);
    }
    const staging = join(this.tmpDir, `obj-${process.pid}-${randomBytes(6).toString('hex')}`);
    await mkdir(staging, { recursive: true });
    try {
      const created: Array<[string, FileEntry]> = [];
      const present: Array<[string, FileEntry]> = [];
      await mapLimit([...byKey], META_IN_FLIGHT, async ([key, { f }]) => {
        const there = await stat(this.path(key)).then(() => true, (err: unknown) => (isNotFound(err) ? false : Promise.reject(err)));
        (there ? present : created).push([key, f]);
      });
      // Existing objects are hashed again on the worker threads (they may have changed since) and
      // linked when intact; a damaged one is removed and written again from chunks below.
      const keyOf = new Map(present.map(([key]) => [this.path(key), key]));
      const stale: string[] = [];
      await runFileJobs(
        '',
        present.map(([key, f]) => ({ path: f.path, blake3: f.blake3, extents: [], size: f.size, source: this.path(key), links: byKey.get(key)!.links })),
        (x) => new ImageError(x.code, `object ${x.file.source} of "${x.file.path}": ${x.message}`),
        (x) => onBytes(x.size),
        (x) => stale.push(keyOf.get(x.source!)!),
      );
      await mapLimit(stale, META_IN_FLIGHT, (key) => rm(this.path(key), { force: true }));
      for (const key of stale) created.push([key, byKey.get(key)!.f]);
      // The owner first (chown clears set-id bits and security.capability), then extended
      // attributes (set while the file is still 0600), then mode and times: a file without
      // xattrs gets all of it on the worker that wrote it.
      const hasXattrs = (f: FileEntry) => !!f.xattrs && Object.keys(f.xattrs).length > 0;
      const modeAndTime = (f: FileEntry) => ({ mode: f.mode, mtime: nsToTimes(f.mtime)[0] });
      const meta = (f: FileEntry): FileMeta => ({ ...(this.withOwners ? { owner: [f.uid, f.gid] } : {}), ...(hasXattrs(f) ? {} : modeAndTime(f)) });
      let finishHere = created;
      if (chunks instanceof DirStore) {
        // A local store is read by path on worker threads, whole objects at a time (image/file-worker.ts).
        await runFileJobs(
          chunks.location,
          created.map(([key, f]) => ({
            path: f.path,
            blake3: f.blake3,
            extents: f.extents,
            size: f.size,
            dest: join(staging, key),
            meta: meta(f),
            ...(hasXattrs(f) ? {} : { publish: this.path(key), links: byKey.get(key)!.links }),
          })),
          (x) => new ImageError(x.code, x.code === 'FILE_TAMPERED' ? `file "${x.file.path}": content assembled from chunks has BLAKE3 ${x.got}, manifest says ${x.file.blake3}` : `file "${x.file.path}": ${x.message}`),
          (x) => onBytes(x.size),
        );
        finishHere = created.filter(([, f]) => hasXattrs(f));
      } else {
        await mapLimit(created, FILES_IN_FLIGHT, async ([key, f]) => {
          await writeObject(join(staging, key), f, chunks, onBytes);
          await setMeta(join(staging, key), meta(f));
        });
      }
      const withXattrs = finishHere.filter(([, f]) => hasXattrs(f));
      await writeXattrs(staging, withXattrs.map(([key, f]) => [key, f.xattrs!]));
      await mapLimit(withXattrs, META_IN_FLIGHT, ([key, f]) => setMeta(join(staging, key), modeAndTime(f)));
      for (const sub of new Set(finishHere.map(([key]) => key.slice(0, 2)))) await mkdir(join(this.dir, sub), { recursive: true });
      await mapLimit(finishHere, META_IN_FLIGHT, ([key]) => rename(join(staging, key), this.path(key)));
      await mapLimit(
        finishHere.flatMap(([key]) => byKey.get(key)!.links.map((l) => [this.path(key), l] as const)),
        META_IN_FLIGHT,
        ([object, l]) => linkObject(object, l),
      );
      // Objects that were there before: their content was hashed again, their xattrs not yet.
      const fresh = new Set(created.map(([key]) => key));
      return { reused: new Set(present.filter(([key]) => !fresh.has(key)).flatMap(([key]) => byKey.get(key)!.paths)) };
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }
}

export interface EnsureResult {
  /** Paths of files linked to objects that existed before (every file's content is checked). */
  reused: Set<string>;
}

/** Hard-link an object into a tree; an object removed meanwhile (a concurrent gc) is a clear error. */
async function linkObject(objectPath: string, dest: string): Promise<void> {
  try {
    await link(objectPath, dest);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
    throw new ImageError('STORE_IO', `object ${objectPath} vanished while linking ${dest} (concurrent gc?)`, { cause: err });
  }
}

async function setMeta(path: string, m: FileMeta): Promise<void> {
  if (m.owner) await chown(path, ...m.owner);
  if (m.mode !== undefined) await chmod(path, m.mode); // after chown, which clears set-id bits
  if (m.mtime !== undefined) await utimes(path, m.mtime, m.mtime);
}

/** Seconds (with fraction) for utimes; Node takes a double, so the result is within ~250 ns. */
export function nsToTimes(ns: string): [number, number] {
  const n = BigInt(ns);
  const t = Number(n / 1_000_000_000n) + Number(n % 1_000_000_000n) / 1e9;
  return [t, t];
}

const ZERO = new Uint8Array(1 << 20);
/** Objects written at once, and chunks of one object read ahead of its writes. */
const FILES_IN_FLIGHT = 4;
const CHUNKS_AHEAD = 16;
/** Decoded chunks go out in writes of about this size, a few at once (positional, so in any order). */
const WRITE_BATCH = 1 << 20;
const WRITES_IN_FLIGHT = 2;
/** Metadata steps (chown, chmod, utimes, rename) at once: each is one short system call. */
const META_IN_FLIGHT = 32;

/** Writes a file object from its chunks (read and opened on the thread pool a few ahead) and checks its fingerprint. */
async function writeObject(path: string, f: FileEntry, chunks: ChunkStore, onBytes: (n: number) => void): Promise<void> {
  const fh = await open(path, 'wx', 0o600);
  const hasher = newHasher();
  const opened: Array<{ hole: number } | { plain: Promise<Uint8Array> }> = [];
  const writing: Array<Promise<void>> = [];
  let batch: Uint8Array[] = [];
  let batchAt = 0;
  let batchBytes = 0;
  let pos = 0; // file offset of the next extent taken
  const flush = async () => {
    if (batchBytes === 0) return;
    const [bufs, at, n] = [batch, batchAt, batchBytes];
    batch = [];
    batchBytes = 0;
    const w = fh.writev(bufs, at).then(({ bytesWritten }) => {
      if (bytesWritten !== n) throw new ImageError('STORE_IO', `file "${f.path}": short write (${bytesWritten} of ${n} bytes at ${at})`);
    });
    w.catch(() => {}); // awaited below; not an unhandled rejection meanwhile
    writing.push(w);
    while (writing.length > WRITES_IN_FLIGHT) await writing.shift();
  };
  const take = async () => {
    const next = opened.shift()!;
    if ('hole' in next) {
      for (let left = next.hole; left > 0; left -= ZERO.length) hasher.update(ZERO.subarray(0, Math.min(left, ZERO.length)));
      await flush(); // a hole is not written: the batch ends here
      pos += next.hole;
      onBytes(next.hole);
      return;
    }
    const plain = await next.plain;
    hasher.update(plain);
    if (batchBytes === 0) batchAt = pos;
    batch.push(plain);
    batchBytes += plain.length;
    pos += plain.length;
    if (batchBytes >= WRITE_BATCH) await flush();
    onBytes(plain.length);
  };
  try {
    for (const x of f.extents) {
      if ('hole' in x) opened.push({ hole: x.hole });
      else {
        const plain = chunks.getChunk(x.id).then((blob) => openChunkAsync(blob, x, { digestChecked: true }));
        plain.catch(() => {}); // awaited in order by take(); not an unhandled rejection meanwhile
        opened.push({ plain });
      }
      while (opened.length > CHUNKS_AHEAD) await take();
    }
    while (opened.length > 0) await take();
    await flush();
    while (writing.length > 0) await writing.shift();
    await fh.truncate(f.size);
  } catch (err) {
    await Promise.allSettled([...opened.map((o) => ('plain' in o ? o.plain : null)), ...writing]);
    if (err instanceof ImageError) throw new ImageError(err.code, `file "${f.path}": ${err.message}`, { cause: err });
    throw err;
  } finally {
    await fh.close();
  }
  const got = hasher.digestHex();
  if (got !== f.blake3) throw new ImageError('FILE_TAMPERED', `file "${f.path}": content assembled from chunks has BLAKE3 ${got}, manifest says ${f.blake3}`);
}
