import { decodeManifest, manifestChunks } from './manifest.ts';
import { formatRef, type ImageRef } from './ref.ts';
import { forEachLimit, resolveRef } from './resolve.ts';
import type { ImageStore } from './store/types.ts';
import { ImageError } from './errors.ts';

export interface PullProgress {
  chunksDone: number;
  chunksTotal: number;
  bytesFetched: number;
}

export interface PullResult {
  ref: string;
  digest: string;
  chunks: number;
  fetchedChunks: number;
  fetchedBytes: number;
}

/**
 * Copy an image from `from` into `to`: chunks first (each verified by the source store's getter),
 * then the manifest, then the tag, so a tag never names an incomplete image. Safe to run
 * concurrently with itself: every write is temp+rename of content-addressed data.
 */
export async function pullImage(
  to: ImageStore,
  from: ImageStore,
  ref: string | ImageRef,
  opts: { concurrency?: number; onProgress?: (p: PullProgress) => void } = {},
): Promise<PullResult> {
  if (!to.writable) throw new ImageError('READ_ONLY', `store ${to.location} is read-only`);
  const { name, digest } = await resolveRef(from, ref);
  const bytes = await from.getManifest(digest);
  const m = decodeManifest(bytes);
  const ids = [...manifestChunks(m).keys()];
  const p: PullProgress = { chunksDone: 0, chunksTotal: ids.length, bytesFetched: 0 };
  let fetched = 0;
  await forEachLimit(ids, opts.concurrency ?? 8, async (id) => {
    if (!(await to.hasChunk(id))) {
      const blob = await from.getChunk(id);
      await to.putChunk(id, blob);
      fetched++;
      p.bytesFetched += blob.length;
    }
    p.chunksDone++;
    opts.onProgress?.(p);
  });
  await to.putManifest(bytes);
  if (name) await to.setTag(name, digest);
  return { ref: formatRef(name, digest), digest, chunks: ids.length, fetchedChunks: fetched, fetchedBytes: p.bytesFetched };
}
