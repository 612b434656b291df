import { link, lstat, readdir, rm, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from './fsutil.ts';
import { collectDecoded } from './decoded.ts';

export interface CacheGcResult {
  /** Objects kept: a tree links them (link count above 1). */
  keptObjects: number;
  /** Objects removed: nothing but objects/ held them (link count 1). */
  removedObjects: number;
  removedBytes: number;
  /** Objects under an old fan-out directory that a tree still links, given their flat name. */
  movedObjects: number;
  /** Old fan-out directories (objects/<2 hex>/) removed once empty. */
  removedFanouts: number;
  /** Staging trees in tmp/ left by a materialize that never finished. */
  removedStaging: number;
  /** Removable, but changed within the grace period: kept for now. */
  skippedYoung: number;
  /** Trees (images/<digest>/) no user needs any more, removed with their records (with `keep` only). */
  removedTrees: number;
  /** Decoded packs (and their indexes) older than the grace period: see decoded.ts collectDecoded. */
  removedPacks: number;
  /** `stop` said so: the pass ended early (the rest waits for the next one). */
  stopped: boolean;
}

export interface CacheGcOptions {
  graceMs?: number;
  now?: number;
  /**
   * The digests whose trees are in use (the node: images of its VMs, image/cache-uses.ts). Every
   * other tree under images/ is removed, and the objects only it linked go in the same pass,
   * whatever their age. Absent: no tree is removed.
   */
  keep?: ReadonlySet<string>;
  /** Asked before each tree removed: true ends the pass there (the node: a job is waiting). */
  stop?: () => boolean;
}

/** An object's name: its 64-hex key (image/objects.ts objectKey). */
const KEY = /^[0-9a-f]{64}$/;
/** The fan-out directories of caches written before objects/ was flat (objects/<k[0..2]>/<k>). */
const FANOUT = /^[0-9a-f]{2}$/;
/** A tree's name under images/: its image's digest. */
const DIGEST = /^[0-9a-f]{64}$/;

/**
 * Garbage collection of a node's materialize cache (SPEC.md §7: `<cache>/objects/<k>`,
 * `<cache>/images/<digest>/`, `<cache>/tmp/`, `<cache>/decoded/`). With `keep`, trees of images
 * not in it are removed first (state record, then tree). A tree's regular files are hard links to
 * objects, so an object whose link count is 1 is held by objects/ alone: no tree uses it (its
 * trees were removed, or the materialize that wrote it failed). Such objects are removed, as is
 * staging left in tmp/, decoded packs past the grace period and the fan-out directories of older
 * caches: an object there that a tree still links gets its flat name (so later images reuse it
 * again) or, where that name is taken, loses only its old one (the tree keeps its file). Anything
 * changed within `graceMs` (by ctime: an object's mtime is its file's, from the manifest) is left,
 * so a materialize running meanwhile loses nothing it just wrote, except the objects of a tree
 * this pass removed (removing a link changes their ctime). An object a materialize is about to
 * reuse is old, though, and a tree removed is one a VM may be about to use: callers run this when
 * no materialize runs on the cache (the node: between jobs of its one job loop, stopping when a
 * job arrives). Names it does not know are left alone.
 */
export async function gcImageCache(dir: string, opts: CacheGcOptions = {}): Promise<CacheGcResult> {
  const grace = opts.graceMs ?? 60 * 60 * 1000;
  const now = opts.now ?? Date.now();
  const old = (ctimeMs: number) => now - ctimeMs >= grace;
  const r: CacheGcResult = {
    keptObjects: 0, removedObjects: 0, removedBytes: 0, movedObjects: 0, removedFanouts: 0, removedStaging: 0, skippedYoung: 0, removedTrees: 0, removedPacks: 0, stopped: false,
  };
  const objects = join(dir, 'objects');
  /** Inodes of the regular files of the trees removed here: their objects go whatever their ctime. */
  const unlinked = opts.keep ? await removeTrees(join(dir, 'images'), opts.keep, opts.stop, r) : new Set<number>();

  /** Removes `path` when only objects/ holds it and it has not changed within the grace period. */
  const dropOrphan = async (path: string): Promise<'kept' | 'removed' | 'young' | 'gone'> => {
    const st = await lstat(path).catch(() => null);
    if (!st?.isFile()) return 'gone';
    if (st.nlink > 1) return 'kept';
    if (!old(st.ctimeMs) && !unlinked.has(st.ino)) return 'young';
    await unlink(path).catch((err: unknown) => {
      if (errnoCode(err) !== 'ENOENT') throw err;
    });
    r.removedBytes += st.size;
    return 'removed';
  };
  const count = (what: Awaited<ReturnType<typeof dropOrphan>>) => {
    if (what === 'kept') r.keptObjects++;
    else if (what === 'removed') r.removedObjects++;
    else if (what === 'young') r.skippedYoung++;
  };

  // Staging first (tmp/tree-…, and tmp/obj-… of older caches: a materialize that died before its
  // rename or cleanup): the objects only they linked are then orphans of this same pass.
  const tmp = join(dir, 'tmp');
  for (const name of await list(tmp)) {
    if (!name.startsWith('tree-') && !name.startsWith('obj-')) continue;
    const st = await lstat(join(tmp, name)).catch(() => null);
    if (!st) continue;
    if (!old(Math.max(st.ctimeMs, st.mtimeMs))) {
      r.skippedYoung++;
      continue;
    }
    await rm(join(tmp, name), { recursive: true, force: true });
    r.removedStaging++;
  }
  for (const name of await list(objects)) {
    if (KEY.test(name)) count(await dropOrphan(join(objects, name)));
    else if (FANOUT.test(name)) await collectFanout(join(objects, name));
  }
  r.removedPacks = collectDecoded(join(dir, 'decoded'), (mtimeMs) => old(mtimeMs));

  async function collectFanout(sub: string): Promise<void> {
    for (const name of await list(sub)) {
      if (!KEY.test(name)) continue;
      const from = join(sub, name);
      const what = await dropOrphan(from);
      if (what !== 'kept') {
        count(what);
        continue;
      }
      // A tree links it: the flat name makes it reusable; if that exists, the old name just goes.
      try {
        await link(from, join(objects, name));
        r.movedObjects++;
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw err;
        r.keptObjects++;
      }
      await unlink(from);
    }
    try {
      await rmdir(sub);
      r.removedFanouts++;
    } catch (err) {
      if (!['ENOTEMPTY', 'EEXIST', 'ENOENT'].includes(errnoCode(err) ?? '')) throw err;
    }
  }

  return r;
}

/**
 * Removes the trees under `images` whose digest is not in `keep`: the state record first (a tree
 * without one is verified in full before use), then the tree; returns the inodes of their regular
 * files. Each tree is walked before it goes, so that the objects it alone linked are known.
 */
async function removeTrees(images: string, keep: ReadonlySet<string>, stop: (() => boolean) | undefined, r: CacheGcResult): Promise<Set<number>> {
  const inodes = new Set<number>();
  for (const name of await list(images)) {
    if (!DIGEST.test(name) || keep.has(name)) continue;
    if (stop?.()) {
      r.stopped = true;
      break;
    }
    const tree = join(images, name);
    for (const ino of await fileInodes(tree)) inodes.add(ino);
    await rm(`${tree}.state`, { force: true });
    await rm(tree, { recursive: true, force: true });
    r.removedTrees++;
  }
  return inodes;
}

/** Inodes of the regular files under `dir` (its links are not followed). */
async function fileInodes(dir: string): Promise<number[]> {
  const out: number[] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])) {
    if (!e.isFile()) continue;
    const st = await lstat(join(e.parentPath, e.name)).catch(() => null);
    if (st?.isFile()) out.push(st.ino);
  }
  return out;
}

/** A directory's names; none when it does not exist. */
async function list(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
}
