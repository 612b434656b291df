import { rm } from 'node:fs/promises';
import { chmodSync, chownSync, existsSync, lchownSync, linkSync, lutimesSync, mkdirSync, renameSync, statSync, symlinkSync, utimesSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { execa } from 'execa';
import { earlyWriteback, syncFileSystem } from '../lib/durable.ts';
import { mapLimit, mapSliced } from '../lib/parallel.ts';
import { initChunkCodec } from './chunk-codec.ts';
import { checkTree, recordRenamedTree, verifyTree, type CheckedTree, type VerifyTreeResult } from './cache-verify.ts';
import { ImageError } from './errors.ts';
import type { Entry, FileEntry, Manifest } from './manifest.ts';
import { manifestOf } from './manifest-memo.ts';
import { warmFileWorkers } from './file-jobs.ts';
import { ObjectPool, nsToTimes } from './objects.ts';
import { CacheUses } from './cache-uses.ts';
import { decodedOf, dropDecoded, type DecodedChunks } from './decoded.ts';
import type { DirStore } from './store/dir-store.ts';
import type { ImageStore } from './store/types.ts';
import { errnoCode, isRoot } from './fsutil.ts';
import { phaseTrace, type BuildTrace } from './build-trace.ts';
import { writeXattrs, type Xattrs } from './xattr.ts';

/**
 * The node's cache of materialized images (SPEC.md §7):
 *   objects/<k>              one inode per distinct file (content + metadata), shared by images
 *   images/<digest>/         a full tree; regular files are hard links into objects/
 *   images/<digest>.state    verification record (cache-verify.ts)
 *   decoded/                 a pull's chunks decoded, one pack per image (decoded.ts): read instead of
 *                            the store's blobs, dropped once the image is materialized
 *   uses/<workload>          the digest of the tree a workload runs on (cache-uses.ts): what gc keeps
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
  /** Which workloads run on which trees (what the node's gc keeps). */
  readonly uses: CacheUses;
  readonly withOwners = isRoot();
  private readonly syncFs: (path: string) => Promise<void>;
  private readonly running = new Set<Promise<void>>();

  constructor(
    readonly dir: string,
    opts: ImageCacheOptions = {},
  ) {
    this.objects = new ObjectPool(join(dir, 'objects'), this.withOwners);
    this.uses = new CacheUses(join(dir, 'uses'));
    this.syncFs = opts.syncFs ?? syncFileSystem;
  }

  /** Where pulls decode chunks for materialize (image/decoded.ts). */
  get decodedDir(): string {
    return join(this.dir, 'decoded');
  }

  treePath(digest: string): string {
    return join(this.dir, 'images', digest);
  }

  statePath(digest: string): string {
    return join(this.dir, 'images', `${digest}.state`);
  }

  /**
   * Make images/<digest> exist and verify it before returning: every file written is checked
   * against its fingerprint (its chunks against their ids only when it fails, to name the bad
   * one: SPEC.md §4); an existing tree is verified by stat tuple, re-hashing only what changed.
   * Throws FILE_TAMPERED naming the file, CHUNK_CORRUPT naming the chunk.
   */
  async materialize(store: DirStore, digest: string, onProgress?: (p: MaterializeProgress) => void): Promise<MaterializeResult> {
    const trace = phaseTrace('materialize', 'ZOS_MATERIALIZE_TRACE');
    const tree = this.treePath(digest);
    const missing = !exists(tree);
    if (missing) warmFileWorkers();
    await initChunkCodec();
    const m = await manifestOf(digest, () => store.getManifest(digest));
    trace?.mark('manifest');
    const total = m.entries.reduce((n, e) => n + (e.type === 'file' ? e.size : 0), 0);
    if (missing) {
      const p: MaterializeProgress = { phase: 'write', bytesDone: 0, bytesTotal: total };
      const decoded = decodedOf(this.decodedDir, digest);
      const made = await this.create(
        store,
        digest,
        m,
        decoded,
        (n) => {
          p.bytesDone += n;
          onProgress?.(p);
        },
        trace,
      );
      if (made) {
        // checked while staged (create), recorded under its name
        await recordRenamedTree(tree, this.statePath(digest), digest, made);
        this.background(dropDecoded(this.decodedDir, digest, decoded?.pack)); // its objects hold those bytes now
        trace?.mark('recorded');
        trace?.print();
        return { path: tree, digest, created: true, verify: made.result };
      }
      // null: a concurrent materialize made it; checked here like any existing tree
    }
    const p: MaterializeProgress = { phase: 'verify', bytesDone: 0, bytesTotal: total };
    const verify = await verifyTree(tree, this.statePath(digest), digest, m, {
      withOwners: this.withOwners,
      onBytes: (n) => {
        p.bytesDone += n;
        onProgress?.(p);
      },
    });
    return { path: tree, digest, created: false, verify };
  }

  /** Verify an already materialized image; NOT_FOUND when it is not in the cache. */
  async verify(store: ImageStore, digest: string): Promise<VerifyTreeResult> {
    const tree = this.treePath(digest);
    await initChunkCodec();
    if (!exists(tree)) throw new ImageError('NOT_FOUND', `image blake3:${digest} is not materialized in ${this.dir}`);
    const m = await manifestOf(digest, () => store.getManifest(digest));
    return verifyTree(tree, this.statePath(digest), digest, m, { withOwners: this.withOwners });
  }

  /** Resolves once what materialize left running (a pack's removal) is done; ImageNode.close waits for it. */
  async settled(): Promise<void> {
    await Promise.all(this.running);
  }

  private background(work: Promise<void>): void {
    this.running.add(work);
    void work.finally(() => this.running.delete(work));
  }

  async remove(digest: string): Promise<void> {
    await rm(this.statePath(digest), { force: true });
    await rm(this.treePath(digest), { recursive: true, force: true });
  }

  /**
   * The tree staged in tmp/, checked (§8) while the syncfs that makes it durable waits for the
   * disk, then renamed into images/; null when a concurrent materialize renamed its copy first.
   */
  private async create(store: DirStore, digest: string, m: Manifest, decoded: DecodedChunks | undefined, onBytes: (n: number) => void, trace?: BuildTrace): Promise<CheckedTree | null> {
    // Short calls made synchronously: through the thread pool each costs a turn, under load tens of ms.
    mkdirSync(join(this.dir, 'images'), { recursive: true });
    mkdirSync(join(this.dir, 'tmp'), { recursive: true });
    const files = m.entries.filter((e): e is FileEntry => e.type === 'file');
    const staging = join(this.dir, 'tmp', `tree-${digest.slice(0, 16)}-${randomBytes(6).toString('hex')}`);
    // While objects are written, a syncfs starts every WRITEBACK_EVERY bytes (one at a time): the
    // disk writes while the workers decode, instead of all at the end (~650 MB/s here: 0.2 s for
    // a 140 MiB tree). These only start writeback early; none is needed for durability, so the
    // tree is finished while the last one runs (under load it took up to ~130 ms).
    const writeback = earlyWriteback(() => this.syncFs(this.dir), WRITEBACK_EVERY);
    let renamed = false;
    try {
      mkdirSync(staging, { mode: 0o700 }); // the workers make the directories of the files they link
      trace?.mark('staged');
      const objects = await this.objects.ensure(
        files,
        store,
        staging,
        (n) => {
          onBytes(n);
          writeback.written(n);
        },
        decoded,
      ); // each file a hard link to its object
      trace?.mark('files written');
      // and here the directories no file needed, parents first (manifest order)
      await mapSliced(m.entries, (e) => e.type === 'dir' && e.path !== '.' && !existsSync(join(staging, e.path)) && mkdirSync(join(staging, e.path), { mode: 0o700 }));
      await this.buildTree(staging, m);
      trace?.mark('tree built');
      // The syncfs that makes the tree durable, no fsync per file: every object and every entry of
      // the staged tree reach the disk before the tree gets its name, so a tree that survives a
      // power cut has all it links (a syncfs also waits for writeback already under way). While
      // it waits for the disk, the staged tree is checked: renaming it changes no entry but its
      // root (recordRenamedTree).
      const [kicked, synced, checked] = await Promise.allSettled([
        writeback.settle().then(() => trace?.mark('kicks settled')),
        this.syncFs(staging).then(() => trace?.mark('final sync')),
        checkTree(staging, undefined, digest, m, {
          withOwners: this.withOwners,
          // ensure() hashed every object it linked: no second pass; it set the xattrs of all but
          // the objects it found there
          contentVerified: true,
          xattrsUnknown: objects.reused,
          shownAs: this.treePath(digest),
        }).finally(() => trace?.mark('tree checked')),
      ]);
      for (const r of [kicked, synced]) if (r.status === 'rejected') throw r.reason;
      if (checked.status === 'rejected') throw checked.reason;
      try {
        renameSync(staging, this.treePath(digest));
        renamed = true;
        trace?.mark('renamed');
        return checked.value;
      } catch (err) {
        const code = errnoCode(err);
        if (code === 'ENOTEMPTY' || code === 'EEXIST') return null; // a concurrent materialize won
        throw err;
      }
    } finally {
      await writeback.settle().catch(() => {}); // after a failure too: no sync left running behind us
      if (!renamed) await rm(staging, { recursive: true, force: true });
    }
  }

  /**
   * The rest of a tree whose directories and regular files exist: symlinks and devices, hard links
   * (their targets must exist), then times, directories last.
   */
  private async buildTree(root: string, m: Manifest): Promise<void> {
    const own = this.withOwners;
    const abs = (e: Entry) => (e.path === '.' ? root : join(root, e.path));
    // Short system calls, synchronously in slices (a few µs each, against tens through the pool).
    await mapSliced(m.entries, (e) => {
      if (e.type !== 'symlink') return;
      symlinkSync(e.target, abs(e));
      if (own) lchownSync(abs(e), e.uid, e.gid);
    });
    await mapLimit(
      m.entries.filter((e): e is Extract<Entry, { type: 'char' | 'block' | 'fifo' }> => e.type === 'char' || e.type === 'block' || e.type === 'fifo'),
      DEVICES_IN_FLIGHT,
      async (e) => {
        const args = e.type === 'fifo' ? ['mkfifo', '-m', e.mode.toString(8), abs(e)] : ['mknod', '-m', e.mode.toString(8), abs(e), e.type === 'char' ? 'c' : 'b', String(e.major), String(e.minor)];
        const r = await execa(args[0]!, args.slice(1), { reject: false });
        if (r.exitCode !== 0) throw new ImageError('HOST', `cannot create ${e.type} "${e.path}": ${r.stderr.trim()}`);
        if (own) chownSync(abs(e), e.uid, e.gid);
        chmodSync(abs(e), e.mode);
      },
    );
    await mapSliced(m.entries, (e) => e.type === 'hardlink' && linkSync(join(root, e.target), abs(e)));
    const xattrs: Array<[string, Xattrs]> = [];
    for (const e of m.entries) if (e.type !== 'file' && e.type !== 'hardlink' && e.xattrs && Object.keys(e.xattrs).length > 0) xattrs.push([e.path, e.xattrs]);
    await writeXattrs(root, xattrs);
    await mapSliced(m.entries, (e) => {
      if (e.type === 'symlink') lutimesSync(abs(e), ...nsToTimes(e.mtime));
      else if (e.type === 'char' || e.type === 'block' || e.type === 'fifo') utimesSync(abs(e), ...nsToTimes(e.mtime));
    });
    // Directories last, deepest first: a directory's mode may take away the access its
    // children's calls need, and creating children changes a directory's mtime.
    const dirs = m.entries.filter((e): e is Extract<Entry, { type: 'dir' }> => e.type === 'dir');
    await mapSliced(dirs.reverse(), (e) => {
      if (own) chownSync(abs(e), e.uid, e.gid);
      chmodSync(abs(e), e.mode);
      utimesSync(abs(e), ...nsToTimes(e.mtime));
    });
  }
}

/** Bytes of objects written between two syncfs started to get writeback going early. */
const WRITEBACK_EVERY = 32 << 20;

/** Device nodes and fifos made at once (a mknod or mkfifo process each). */
const DEVICES_IN_FLIGHT = 8;

/** A stat made synchronously (a few µs, against a thread-pool turn); errors other than ENOENT throw. */
function exists(p: string): boolean {
  return statSync(p, { throwIfNoEntry: false }) !== undefined;
}
