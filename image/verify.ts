import { mapLimit } from '../lib/parallel.ts';
import { initChunkCodec, openChunk } from './chunk-codec.ts';
import { ImageError } from './errors.ts';
import { newHasher } from './hash.ts';
import { runFileJobs, warmFileWorkers } from './file-jobs.ts';
import { decodeManifest, type FileEntry, type Manifest } from './manifest.ts';
import type { ImageRef } from './ref.ts';
import { resolveRef } from './resolve.ts';
import { DirStore } from './store/dir-store.ts';
import type { ImageStore } from './store/types.ts';

const FILES_IN_FLIGHT = 4;
const CHUNKS_AHEAD = 16;

export interface VerifyProgress {
  bytesDone: number;
  bytesTotal: number;
}

export interface VerifyImageResult {
  digest: string;
  files: number;
  bytes: number;
  chunks: number;
}

/**
 * Full check of an image in a store: manifest digest and structure, every chunk's digest and
 * decoding, and every file's BLAKE3 over its reassembled content. Throws naming the first bad file.
 */
export async function verifyImage(
  store: ImageStore,
  ref: string | ImageRef,
  opts: { onProgress?: (p: VerifyProgress) => void } = {},
): Promise<VerifyImageResult> {
  if (store instanceof DirStore) warmFileWorkers();
  await initChunkCodec();
  const { digest } = await resolveRef(store, ref);
  const m: Manifest = decodeManifest(await store.getManifest(digest));
  const p: VerifyProgress = { bytesDone: 0, bytesTotal: m.entries.reduce((n, e) => n + (e.type === 'file' ? e.size : 0), 0) };
  const seen = new Set<string>();
  const fileEntries = m.entries.filter((e): e is FileEntry => e.type === 'file');
  for (const e of fileEntries) for (const x of e.extents) if (!('hole' in x)) seen.add(x.id);
  const failed = (path: string, err: ImageError) => new ImageError(err.code, `image blake3:${digest}, file "${path}": ${err.message}`, { cause: err });
  const tampered = (path: string) => new ImageError('FILE_TAMPERED', `image blake3:${digest}, file "${path}": content does not match its BLAKE3 fingerprint`);
  if (store instanceof DirStore) {
    // A local store is read by path on worker threads, whole files at a time (image/file-worker.ts).
    await runFileJobs(
      { store: store.location },
      fileEntries,
      (f) => (f.code === 'FILE_TAMPERED' ? tampered(f.file.path) : failed(f.file.path, new ImageError(f.code, f.message))),
      (f) => {
        p.bytesDone += f.size;
        opts.onProgress?.(p);
      },
    );
    return { digest, files: fileEntries.length, bytes: p.bytesTotal, chunks: seen.size };
  }
  let files = 0;
  const zero = new Uint8Array(1 << 20);
  // Files FILES_IN_FLIGHT at a time; within a file, chunks are read and opened (on the thread pool)
  // a few ahead of the hash, which must take them in order.
  await mapLimit(fileEntries, FILES_IN_FLIGHT, async (e) => {
    const h = newHasher();
    const opened: Array<Promise<Uint8Array> | number> = [];
    const take = async () => {
      const next = opened.shift()!;
      if (typeof next === 'number') {
        for (let left = next; left > 0; left -= zero.length) h.update(zero.subarray(0, Math.min(left, zero.length)));
        p.bytesDone += next;
      } else {
        const plain = await next;
        h.update(plain);
        p.bytesDone += plain.length;
      }
      opts.onProgress?.(p);
    };
    try {
      for (const x of e.extents) {
        if ('hole' in x) opened.push(x.hole);
        else {
          const o = store.getChunk(x.id).then((blob) => openChunk(blob, x, { digestChecked: true }));
          o.catch(() => {}); // awaited in order by take(); not an unhandled rejection meanwhile
          opened.push(o);
        }
        while (opened.length > CHUNKS_AHEAD) await take();
      }
      while (opened.length > 0) await take();
    } catch (err) {
      await Promise.allSettled(opened);
      if (err instanceof ImageError) throw failed(e.path, err);
      throw err;
    }
    if (h.digestHex() !== e.blake3) throw tampered(e.path);
    files++;
  });
  return { digest, files, bytes: p.bytesTotal, chunks: seen.size };
}
