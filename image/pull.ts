import { manifestChunks } from './manifest.ts';
import { decodeManifestOf } from './manifest-memo.ts';
import { formatRef, type ImageRef } from './ref.ts';
import { forEachLimit, resolveRef } from './resolve.ts';
import type { DirStore } from './store/dir-store.ts';
import { PackWriter } from './store/packs.ts';
import type { ImageStore } from './store/types.ts';
import { initChunkCodec, openChunk } from './chunk-codec.ts';
import { DecodedPackWriter, decodedOf } from './decoded.ts';

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
 * appended to one pack (SPEC.md §5: a file per chunk cost an inode each), then the manifest and
 * its pack list, then the tag, so a tag never names an incomplete image. Safe to run concurrently
 * with itself: the pack is named once whole, every other write is temp+rename of
 * content-addressed data (two pulls at once may both pack a chunk: a duplicate). With `decoded`
 * (a node's decoded chunks, image/decoded.ts), each chunk is also decoded into a pack for the
 * image as it arrives (or from `to` when it was there already): materialize has no decoding to do.
 */
export async function pullImage(
  to: DirStore,
  from: ImageStore,
  ref: string | ImageRef,
  opts: { concurrency?: number; onProgress?: (p: PullProgress) => void; decoded?: string } = {},
): Promise<PullResult> {
  const { name, digest } = await resolveRef(from, ref);
  const bytes = await from.getManifest(digest);
  const m = decodeManifestOf(digest, bytes); // kept for the materialize that follows (manifest-memo.ts)
  const chunks = manifestChunks(m);
  const ids = [...chunks.keys()];
  // With `decoded`, every chunk is decoded into a new pack for this image (image/decoded.ts),
  // unless a pull left one already; a cache that cannot take it (full, not a directory) stops the
  // decoding without failing the pull.
  let pack: DecodedPackWriter | undefined;
  if (opts.decoded !== undefined && !decodedOf(opts.decoded, digest)) {
    await initChunkCodec();
    try {
      pack = new DecodedPackWriter(opts.decoded, digest);
    } catch {
      pack = undefined;
    }
  }
  const drop = () => {
    pack?.abort();
    pack = undefined;
  };
  const p: PullProgress = { chunksDone: 0, chunksTotal: ids.length, bytesFetched: 0 };
  let fetched = 0;
  to.readPacks();
  const writer = new PackWriter(to.location);
  try {
    await forEachLimit(ids, opts.concurrency ?? 8, async (id) => {
      let blob: Uint8Array | undefined;
      if (!to.holds(id)) {
        blob = await from.getChunk(id);
        writer.append(id, blob);
        fetched++;
        p.bytesFetched += blob.length;
      }
      if (pack) {
        blob ??= await to.getChunk(id); // checked against its id, as `from`'s getter checks
        const plain = openChunk(blob, chunks.get(id)!, { digestChecked: true }); // a chunk that does not open fails the pull
        try {
          pack?.append(id, plain);
        } catch {
          drop();
        }
      }
      p.chunksDone++;
      opts.onProgress?.(p);
    });
    writer.close();
    if (writer.path) await to.addPack(writer.path, writer.entries);
    await to.putManifest(bytes);
    await to.putPackList(digest, ids);
    try {
      pack?.finish();
    } catch {
      drop();
    }
  } catch (err) {
    drop();
    writer.discard();
    throw err;
  }
  if (name) await to.setTag(name, digest);
  return { ref: formatRef(name, digest), digest, chunks: ids.length, fetchedChunks: fetched, fetchedBytes: p.bytesFetched };
}
