import { initChunkCodec, openChunk } from './chunk-codec.ts';
import { ImageError } from './errors.ts';
import { newHasher } from './hash.ts';
import { decodeManifest, type Manifest } from './manifest.ts';
import type { ImageRef } from './ref.ts';
import { resolveRef } from './resolve.ts';
import type { ImageStore } from './store/types.ts';

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
  await initChunkCodec();
  const { digest } = await resolveRef(store, ref);
  const m: Manifest = decodeManifest(await store.getManifest(digest));
  const p: VerifyProgress = { bytesDone: 0, bytesTotal: m.entries.reduce((n, e) => n + (e.type === 'file' ? e.size : 0), 0) };
  const seen = new Set<string>();
  let files = 0;
  const zero = new Uint8Array(1 << 20);
  for (const e of m.entries) {
    if (e.type !== 'file') continue;
    const h = newHasher();
    for (const x of e.extents) {
      if ('hole' in x) {
        for (let left = x.hole; left > 0; left -= zero.length) h.update(zero.subarray(0, Math.min(left, zero.length)));
        p.bytesDone += x.hole;
        continue;
      }
      try {
        h.update(openChunk(await store.getChunk(x.id), x, { digestChecked: true }));
      } catch (err) {
        if (err instanceof ImageError) throw new ImageError(err.code, `image blake3:${digest}, file "${e.path}": ${err.message}`, { cause: err });
        throw err;
      }
      seen.add(x.id);
      p.bytesDone += x.size;
      opts.onProgress?.(p);
    }
    if (h.digestHex() !== e.blake3) throw new ImageError('FILE_TAMPERED', `image blake3:${digest}, file "${e.path}": content does not match its BLAKE3 fingerprint`);
    files++;
  }
  return { digest, files, bytes: p.bytesTotal, chunks: seen.size };
}
