import { mkdirSync, statSync } from 'node:fs';
import { chmod, chown, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { mapLimit } from '../lib/parallel.ts';
import { canonicalJson } from './canonical-json.ts';
import { ImageError } from './errors.ts';
import { blake3Hex } from './hash.ts';
import type { FileEntry } from './manifest.ts';
import { runFileJobs } from './file-jobs.ts';
import type { FileMeta } from './file-worker.ts';
import type { DirStore } from './store/dir-store.ts';
import { writeXattrs } from './xattr.ts';
import { publishLink } from './fsutil.ts';
import type { DecodedChunks } from './decoded.ts';


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
    private readonly withOwners: boolean,
  ) {}

  path(key: string): string {
    return join(this.dir, key);
  }

  /**
   * Make sure every file's object exists and holds the right bytes, and hard-link it at the file's
   * path under `tree` (its directories made as needed, 0700), in one pass on the file workers
   * (image/file-worker.ts): an existing object is hashed again (it may have been modified since)
   * and linked when intact; a missing or damaged one is written from the store's verified chunks
   * at the file's path in the tree, given its metadata, and only then linked into objects/ (one
   * new inode and two names per object, as the tree itself needs). An object with extended
   * attributes is finished here instead (setfattr between its owner and its mode), then linked.
   * `decoded`: the image's chunks decoded by its pull (image/decoded.ts), read instead of decoding
   * the store's blobs.
   */
  async ensure(files: FileEntry[], store: DirStore, tree: string, onBytes: (n: number) => void, decoded?: DecodedChunks): Promise<EnsureResult> {
    const byKey = new Map<string, { f: FileEntry; paths: string[] }>();
    for (const f of files) {
      const key = objectKey(f, this.withOwners);
      const o = byKey.get(key) ?? { f, paths: [] };
      o.paths.push(f.path);
      byKey.set(key, o);
    }
    mkdirSync(this.dir, { recursive: true });
    // The owner first (chown clears set-id bits and security.capability), then extended
    // attributes (set while the file is still 0600), then mode and times: a file without
    // xattrs gets all of it on the worker that wrote it.
    const hasXattrs = (f: FileEntry) => !!f.xattrs && Object.keys(f.xattrs).length > 0;
    const modeAndTime = (f: FileEntry) => ({ mode: f.mode, mtime: nsToTimes(f.mtime)[0] });
    // A new file is ours (our euid and egid; the directory's group under a set-group-ID one): no
    // fchown where that is already its owner.
    const made: [number, number] | null = (statSync(tree).mode & 0o2000) !== 0 ? null : [process.geteuid!(), process.getegid!()];
    const chownNeeded = (f: FileEntry) => this.withOwners && !(made && made[0] === f.uid && made[1] === f.gid);
    const meta = (f: FileEntry): FileMeta => ({ ...(chownNeeded(f) ? { owner: [f.uid, f.gid] } : {}), ...(hasXattrs(f) ? {} : modeAndTime(f)) });
    const reused = new Set<string>();
    await runFileJobs(
      { store: store.location, ...(decoded === undefined ? {} : { decoded: { pack: decoded.pack, index: decoded.index } }) },
      [...byKey].map(([key, { f, paths }]) => ({
        path: f.path,
        blake3: f.blake3,
        extents: f.extents,
        size: f.size,
        key,
        existing: this.path(key),
        dest: join(tree, paths[0]!),
        meta: meta(f),
        links: paths.slice(1).map((p) => join(tree, p)),
        ...(hasXattrs(f) ? {} : { publish: this.path(key) }),
        ...(decoded === undefined ? {} : { at: f.extents.map((x) => ('hole' in x ? -1 : (decoded.at[x.id] ?? -1))) }),
      })),
      (x) =>
        new ImageError(
          x.code,
          x.code === 'FILE_TAMPERED' ? `file "${x.file.path}": content assembled from chunks has BLAKE3 ${x.got}, manifest says ${x.file.blake3}` : `file "${x.file.path}": ${x.message}`,
        ),
      (x) => onBytes(x.size),
      (x) => reused.add(x.key),
    );
    const finishHere = [...byKey].filter(([key, { f }]) => hasXattrs(f) && !reused.has(key));
    await writeXattrs(tree, finishHere.map(([, { f }]) => [f.path, f.xattrs!]));
    await mapLimit(finishHere, META_IN_FLIGHT, ([, { f }]) => setMeta(join(tree, f.path), modeAndTime(f)));
    for (const [key, { f }] of finishHere) publishLink(join(tree, f.path), this.path(key));
    return { reused: new Set([...reused].flatMap((key) => byKey.get(key)!.paths)) };
  }
}

export interface EnsureResult {
  /** Paths of files linked to objects that existed before (every file's content is checked). */
  reused: Set<string>;
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

/** Metadata steps (chown, chmod, utimes) at once: each is one short system call. */
const META_IN_FLIGHT = 32;
