import { basename, join, resolve } from 'node:path';
import type { Logger } from '../lib/log.ts';
import { buildImage, type BuildOptions, type BuildResult } from './build.ts';
import { ImageError } from './errors.ts';
import { isDigestHex } from './hash.ts';
import { gcStore, type GcResult } from './gc.ts';
import { ImageCache, type MaterializeProgress, type MaterializeResult } from './materialize.ts';
import { warmFileWorkers } from './file-jobs.ts';
import { pullImage, type PullProgress, type PullResult } from './pull.ts';
import type { ImageRef } from './ref.ts';
import { resolveRef } from './resolve.ts';
import { RootManager, type RootMode, type WorkloadRoot } from './roots.ts';
import { DirStore } from './store/dir-store.ts';
import { openStoreAt } from './store/open.ts';
import type { ImageStore } from './store/types.ts';
import { verifyImage, type VerifyImageResult, type VerifyProgress } from './verify.ts';

export { buildImage, pullImage, verifyImage, gcStore, resolveRef, openStoreAt, DirStore, ImageCache, RootManager, ImageError };
export type { BuildOptions, BuildResult, PullResult, VerifyImageResult, MaterializeResult, WorkloadRoot, ImageStore, GcResult, RootMode };
export { HttpStore } from './store/http-store.ts';
export { parseRef, formatRef } from './ref.ts';
export type { Manifest, Entry } from './manifest.ts';

/**
 * A node's image service: one local chunk store shared by every image (store/), the materialized
 * cache (cache/) and per-workload roots (roots/), all under one directory.
 */
export class ImageNode {
  readonly store: DirStore;
  readonly cache: ImageCache;
  readonly roots: RootManager;
  private closed = false;

  constructor(
    readonly dir: string,
    store: DirStore,
    private readonly log?: Logger,
    rootMode: RootMode | 'auto' = 'auto',
  ) {
    this.store = store;
    this.cache = new ImageCache(join(dir, 'cache'));
    this.roots = new RootManager(join(dir, 'roots'), rootMode);
  }

  private live(): void {
    if (this.closed) throw new ImageError('ERR_CLOSED', `image store ${this.dir} is closed`);
  }

  build(source: string, opts: Omit<BuildOptions, 'store'> & { store?: ImageStore } = {}): Promise<BuildResult> {
    this.live();
    return buildImage(source, { log: this.log, ...opts, store: opts.store ?? this.store });
  }

  /** Fetch an image from a remote store (URL or directory) into the local store, its chunks decoded into the cache too (materialize reads those). */
  async pull(ref: string | ImageRef, from: string | ImageStore, opts: { onProgress?: (p: PullProgress) => void } = {}): Promise<PullResult> {
    this.live();
    const remote = typeof from === 'string' ? await openStoreAt(from, { create: false }) : from;
    // A materialize follows a pull (node/primitives/zmachine/flist.ts): its file workers load
    // (~80 ms of CPU each) while the chunks arrive, not while it waits for them.
    warmFileWorkers();
    try {
      return await pullImage(this.store, remote, ref, { ...opts, decoded: this.cache.decodedDir });
    } finally {
      if (typeof from === 'string') await remote.close();
    }
  }

  verify(ref: string | ImageRef, opts: { onProgress?: (p: VerifyProgress) => void } = {}): Promise<VerifyImageResult> {
    this.live();
    return verifyImage(this.store, ref, opts);
  }

  /** Materialize (once per node) and verify; returns the read-only tree path. */
  async materialize(ref: string | ImageRef, opts: { onProgress?: (p: MaterializeProgress) => void } = {}): Promise<MaterializeResult> {
    this.live();
    const { digest } = await resolveRef(this.store, ref);
    return this.cache.materialize(this.store, digest, opts.onProgress);
  }

  /** Verified, writable root for one workload; the image must be in the local store (pull first). */
  async prepareRoot(ref: string | ImageRef, workloadId: string, opts: { layerDir?: string } = {}): Promise<WorkloadRoot & { digest: string; lower: string }> {
    const { path: lower, digest } = await this.materialize(ref);
    return { ...(await this.roots.attach(lower, workloadId, opts)), digest, lower };
  }

  /** The digest of the cache tree a workload's root lies over (an overlay's lower tree), if it has one. */
  async rootImage(workloadId: string): Promise<string | undefined> {
    const lower = await this.roots.lowerOf(workloadId);
    const digest = lower === undefined ? '' : basename(lower);
    return isDigestHex(digest) && this.cache.treePath(digest) === lower ? digest : undefined;
  }

  releaseRoot(workloadId: string): Promise<void> {
    return this.roots.release(workloadId);
  }

  gc(opts: { graceMs?: number } = {}): Promise<GcResult> {
    this.live();
    return gcStore(this.store, opts);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.cache.settled();
    await this.store.close();
  }
}

/** Open (creating if needed) the node's image directory: `<dir>/store`, `<dir>/cache`, `<dir>/roots`. */
export async function openImageStore(dir: string, opts: { log?: Logger; rootMode?: RootMode | 'auto' } = {}): Promise<ImageNode> {
  const abs = resolve(dir);
  const store = await DirStore.open(join(abs, 'store'));
  return new ImageNode(abs, store, opts.log, opts.rootMode);
}
