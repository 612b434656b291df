import { mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWriteFile } from './fsutil.ts';

/**
 * The node's decoded chunks (SPEC.md §7), a cache beside the store, which keeps every chunk sealed
 * (zstd) as built and served:
 *   <dir>/chunks/<id>        the chunk's plain bytes (what openChunk gives), written by a pull
 *   <dir>/images/<digest>    empty: every chunk of that image was decoded here by a pull
 * Materialize reads these instead of decoding (zstd is ~0.85 ms of CPU per MiB, most of a file
 * worker's pass): a pull pays the decoding while chunks arrive over the network. Nothing here is
 * trusted: materialize proves every file it writes by its BLAKE3, and writes one that fails again
 * from the store's sealed chunks (image/file-worker.ts). Writes are temp + rename, no fsync: a
 * chunk a power cut left short or empty is read from the store instead.
 */
export function decodedChunkDir(dir: string): string {
  return join(dir, 'chunks');
}

/** The decoded chunks of an image that a pull decoded, or undefined. */
export function decodedChunksOf(dir: string, digest: string): string | undefined {
  return sizeOf(join(dir, 'images', digest)) !== undefined ? decodedChunkDir(dir) : undefined;
}

/** Whether a chunk's decoded file is there, whole. */
export function hasDecoded(dir: string, id: string, size: number): boolean {
  return sizeOf(`${decodedChunkDir(dir)}/${id}`) === size;
}

/** A file's size; undefined when it cannot be seen (absent, or the cache is not a directory): a cache never fails its caller. */
function sizeOf(path: string): number | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false })?.size;
  } catch {
    return undefined;
  }
}

let temps = 0;
const prefix = `.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;

/** Writes a chunk's plain bytes (temp + rename: readers see all of it or none). */
export function writeDecoded(dir: string, id: string, plain: Uint8Array): void {
  const chunks = decodedChunkDir(dir);
  const tmp = `${chunks}/${prefix}-${++temps}`;
  try {
    writeFileSync(tmp, plain);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    mkdirSync(chunks, { recursive: true });
    writeFileSync(tmp, plain);
  }
  renameSync(tmp, `${chunks}/${id}`);
}

/** Records that every chunk of the image is decoded here. */
export function markDecoded(dir: string, digest: string): void {
  atomicWriteFile(join(dir, 'images', digest), '');
}
