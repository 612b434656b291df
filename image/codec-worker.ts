import { closeSync, openSync, readSync } from 'node:fs';
import { initChunkCodec, openChunk, sealChunk, type SealedChunk } from './chunk-codec.ts';
import { ImageError } from './errors.ts';
import { newHasher } from './hash.ts';

/**
 * Chunk sealing (zstd + BLAKE3, optional encryption) and opening (decryption, zstd, checks) on a
 * worker thread (codec-pool.ts). An ImageError comes back as a value so its code survives.
 */
export type CodecJob =
  | { op: 'seal'; plain: Uint8Array; encrypt: boolean }
  | { op: 'open'; blob: Uint8Array; ref: { id: string; size: number; key?: string }; digestChecked: boolean }
  | { op: 'hashFile'; path: string };

export type CodecResult = SealedChunk | { plain: Uint8Array } | { blake3: string; size: number } | { error: { code: ImageError['code']; message: string } };

await initChunkCodec();

export function work(job: CodecJob): CodecResult {
  try {
    if (job.op === 'seal') return sealChunk(job.plain, { encrypt: job.encrypt });
    if (job.op === 'hashFile') return hashFile(job.path);
    const plain = openChunk(job.blob, job.ref, { digestChecked: job.digestChecked });
    // A view into the wasm heap or a shared buffer is copied so it can be transferred whole.
    return { plain: plain.byteLength === plain.buffer.byteLength ? plain : plain.slice() };
  } catch (err) {
    if (err instanceof ImageError) return { error: { code: err.code, message: err.message } };
    throw err;
  }
}

const block = Buffer.alloc(1 << 20);

/** A whole file's BLAKE3 (synchronous reads: this thread does nothing else meanwhile). */
function hashFile(path: string): { blake3: string; size: number } {
  const fd = openSync(path, 'r');
  try {
    const h = newHasher();
    let size = 0;
    for (let n; (n = readSync(fd, block, 0, block.length, null)) > 0; size += n) h.update(block.subarray(0, n));
    return { blake3: h.digestHex(), size };
  } finally {
    closeSync(fd);
  }
}
