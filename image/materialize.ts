import { chmod, chown, lchown, lutimes, mkdir, rename, rm, stat, symlink, utimes, link } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { execa } from 'execa';
import { syncFileSystem } from '../lib/durable.ts';
import { mapLimit } from '../lib/parallel.ts';
import { initChunkCodec } from './chunk-codec.ts';
import { verifyTree, type VerifyTreeResult } from './cache-verify.ts';
import { ImageError } from './errors.ts';
import { decodeManifest, type Entry, type FileEntry, type Manifest } from './manifest.ts';
import { warmFileWorkers } from './file-jobs.ts';
import { ObjectPool, nsToTimes, type EnsureResult } from './objects.ts';
import type { DirStore } from './store/dir-store.ts';
import type { ImageStore } from './store/types.ts';
import { errnoCode, isRoot } from './fsutil.ts';
import { writeXattrs, type Xattrs } from './xattr.ts';

/**
 * The node's cache of materialized images (SPEC.md §7):
 *   objects/<k[0:2]>/<k>     one inode per distinct file (content + metadata), shared by images
 *   images/<digest>/         a full tree; regular files are hard links into objects/
 *   images/<digest>.state    verification record (cache-verify.ts)
 *   tmp/                     staging, same filesystem so rename() is atomic
 */
export interface MaterializeProgress {
  phase: 'verify' | 'write';
  bytesDone: number;
  bytesTotal: number;
}

export interface MaterializeResult {
  path: string;
  digest: string;
  created: boolean;
  verify: VerifyTreeResult;
}

export interface ImageCacheOptions {
  /**
   * Makes everything written under a path durable (default: syncfs(2) of its filesystem,
   * lib/durable.ts). Once per tree created, after its objects and links are written and before
   * the tree is renamed into place: the call that makes the tree durable. While a large tree's
   * objects are written it also runs every 32 MiB (one at a time), only to start writeback early.
   */
  syncFs?: (path: string) => Promise<void>;
}

export class ImageCache {
  readonly objects: ObjectPool;
  readonly withOwners = isRoot();
  private readonly syncFs: (path: string) => Promise<void>;

  constructor(
    readonly dir: string,
    opts: ImageCacheOptions = {},
  ) {
    this.objects = new ObjectPool(join(dir, 'objects'), join(dir, 'tmp'), this.withOwners);
    this.syncFs = opts.syncFs ?? syncFileSystem;
  }

  treePath(digest: string): string {
    return join(this.dir, 'images', digest);
  }

  statePath(digest: string): string {
    return join(this.dir, 'images', `${digest}.state`);
  }

  /**
   * Make images/<digest> exist and verify it before returning: chunks are checked against their
   * digests and every file against its fingerprint when written; an existing tree is verified by
   * stat tuple, re-hashing only what changed. Throws FILE_TAMPERED naming the file.
   */
  async materialize(store: DirStore, digest: string, onProgress?: (p: MaterializeProgress) => void): Promise<MaterializeResult> {
    const tree = this.treePath(digest);
    const missing = !(await exists(tree));
    if (missing) warmFileWorkers();
    await initChunkCodec();
    const m = decodeManifest(await store.getManifest(digest));
    const total = m.entries.reduce((n, e) => n + (e.type === 'file' ? e.size : 0), 0);
    let made: EnsureResult | null = null; // null: no tree made here (it existed, or a concurrent materialize won)
    if (missing) {
      const p: MaterializeProgress = { phase: 'write', bytesDone: 0, bytesTotal: total };
      made = await this.create(store, digest, m, (n) => {
        p.bytesDone += n;
        onProgress?.(p);
      });
    }
    const created = made !== null;
    const p: MaterializeProgress = { phase: 'verify', bytesDone: 0, bytesTotal: total };
    const verify = await verifyTree(tree, this.statePath(digest), digest, m, {
      withOwners: this.withOwners,
      // ensure() hashed every object it linked into the tree it just created: no second pass;
      // it set the xattrs of all but the objects it found there
      contentVerified: created,
      ...(made ? { xattrsUnknown: made.reused } : {}),
      onBytes: (n) => {
        p.bytesDone += n;
        onProgress?.(p);
      },
    });
    return { path: tree, digest, created, verify };
  }

  /** Verify an already materialized image; NOT_FOUND when it is not in the cache. */
  async verify(store: ImageStore, digest: string): Promise<VerifyTreeResult> {
    const tree = this.treePath(digest);
    await initChunkCodec();
    if (!(await exists(tree))) throw new ImageError('NOT_FOUND', `image blake3:${digest} is not materialized in ${this.dir}`);
    const m = decodeManifest(await store.getManifest(digest));
    return verifyTree(tree, this.statePath(digest), digest, m, { withOwners: this.withOwners });
  }

  async remove(digest: string): Promise<void> {
    await rm(this.statePath(digest), { force: true });
    await rm(this.treePath(digest), { recursive: true, force: true });
  }

  private async create(store: DirStore, digest: string, m: Manifest, onBytes: (n: number) => void): Promise<EnsureResult | null> {
    await initChunkCodec();
    await mkdir(join(this.dir, 'images'), { recursive: true });
    await mkdir(join(this.dir, 'tmp'), { recursive: true });
    const files = m.entries.filter((e): e is FileEntry => e.type === 'file');
    const staging = join(this.dir, 'tmp', `tree-${digest.slice(0, 16)}-${randomBytes(6).toString('hex')}`);
    try {
      for (const level of dirLevels(m)) await mapLimit(level, TREE_STEPS_IN_FLIGHT, (e) => mkdir(e.path === '.' ? staging : join(staging, e.path), { mode: 0o700 })); // parents first
      // While objects are written, a syncfs starts every WRITEBACK_EVERY bytes (one at a time): the
      // disk writes while the workers decode, instead of all at the end (~650 MB/s here: 0.2 s for
      // a 140 MiB tree). These only start writeback early; none is needed for durability.
      const kicks: Array<Promise<void>> = [];
      let since = 0;
      let busy = false;
      const written = (n: number) => {
        onBytes(n);
        since += n;
        if (since < WRITEBACK_EVERY || busy) return;
        busy = true;
        since = 0;
        const k = this.syncFs(this.dir).finally(() => (busy = false));
        k.catch(() => {}); // awaited below; not an unhandled rejection meanwhile
        kicks.push(k);
      };
      const objects = await this.objects.ensure(files, store, staging, written).finally(() => Promise.allSettled(kicks)); // each file a hard link to its object
      await this.buildTree(staging, m);
      for (const r of await Promise.allSettled(kicks)) if (r.status === 'rejected') throw r.reason;
      // The syncfs that makes the tree durable, no fsync per file: every object and every entry of
      // the staged tree reach the disk before the tree gets its name, so a tree that survives a
      // power cut has all it links.
      await this.syncFs(staging);
      try {
        await rename(staging, this.treePath(digest));
        return objects;
      } catch (err) {
        const code = errnoCode(err);
        if (code === 'ENOTEMPTY' || code === 'EEXIST') return null; // a concurrent materialize won
        throw err;
      }
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  /**
   * The rest of a tree whose directories and regular files exist: every other entry, many at once
   * (each is one short system call), hard links last (their targets must exist); then times,
   * directories last (creating children changes a directory's mtime).
   */
  private async buildTree(root: string, m: Manifest): Promise<void> {
    const own = this.withOwners;
    const abs = (e: Entry) => (e.path === '.' ? root : join(root, e.path));
    await mapLimit(
      m.entries.filter((e) => e.type !== 'dir' && e.type !== 'file' && e.type !== 'hardlink'),
      TREE_STEPS_IN_FLIGHT,
      async (e) => {
        switch (e.type) {
          case 'symlink':
            await symlink(e.target, abs(e));
            if (own) await lchown(abs(e), e.uid, e.gid);
            return;
          case 'char':
          case 'block':
          case 'fifo': {
            const args = e.type === 'fifo' ? ['mkfifo', '-m', e.mode.toString(8), abs(e)] : ['mknod', '-m', e.mode.toString(8), abs(e), e.type === 'char' ? 'c' : 'b', String(e.major), String(e.minor)];
            const r = await execa(args[0]!, args.slice(1), { reject: false });
            if (r.exitCode !== 0) throw new ImageError('HOST', `cannot create ${e.type} "${e.path}": ${r.stderr.trim()}`);
            if (own) await chown(abs(e), e.uid, e.gid);
            await chmod(abs(e), e.mode);
          }
        }
      },
    );
    for (const e of m.entries) if (e.type === 'hardlink') await link(join(root, e.target), abs(e));
    const xattrs: Array<[string, Xattrs]> = [];
    for (const e of m.entries) if (e.type !== 'file' && e.type !== 'hardlink' && e.xattrs && Object.keys(e.xattrs).length > 0) xattrs.push([e.path, e.xattrs]);
    await writeXattrs(root, xattrs);
    await mapLimit(
      m.entries.filter((e): e is Exclude<Entry, { type: 'hardlink' }> => e.type === 'symlink' || e.type === 'char' || e.type === 'block' || e.type === 'fifo'),
      TREE_STEPS_IN_FLIGHT,
      (e) => (e.type === 'symlink' ? lutimes(abs(e), ...nsToTimes(e.mtime)) : utimes(abs(e), ...nsToTimes(e.mtime))),
    );
    // Deepest first: a directory's mode may take away the access its children's calls need.
    for (const level of dirLevels(m).reverse()) {
      await mapLimit(level, TREE_STEPS_IN_FLIGHT, async (e) => {
        if (own) await chown(abs(e), e.uid, e.gid);
        await chmod(abs(e), e.mode);
        await utimes(abs(e), ...nsToTimes(e.mtime));
      });
    }
  }
}

/** The manifest's directories by depth: the root, then its children, and so on. */
function dirLevels(m: Manifest): Array<Array<Extract<Entry, { type: 'dir' }>>> {
  const levels: Array<Array<Extract<Entry, { type: 'dir' }>>> = [];
  for (const e of m.entries) {
    if (e.type !== 'dir') continue;
    const depth = e.path === '.' ? 0 : e.path.split('/').length;
    (levels[depth] ??= []).push(e);
  }
  return levels.filter((l) => l !== undefined);
}

/** Bytes of objects written between two syncfs started to get writeback going early. */
const WRITEBACK_EVERY = 32 << 20;

/** Tree entries created at once. */
const TREE_STEPS_IN_FLIGHT = 32;

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    (err: unknown) => (errnoCode(err) === 'ENOENT' ? false : Promise.reject(err)),
  );
}
