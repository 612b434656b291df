import { closeSync, fstatSync, openSync, read, readSync } from 'node:fs';
import { ImageError, isNotFound } from '../errors.ts';
import { blake3Hex, isDigestHex } from '../hash.ts';
import { chunkFilePath } from './chunk-files.ts';
import { PackSet, readPackedSync, type PackedChunk } from './packs.ts';

/**
 * Reading a directory store's chunks by path (SPEC.md §5): synchronously for worker threads
 * (image/file-worker.ts), and the one-trip asynchronous read and the checks DirStore uses. A module
 * of its own, so a worker does not load DirStore's graph.
 */
export const notInStore = (location: string, id: string) => `chunk ${id} not in store ${location}`;

export function checkedBlob(blob: Uint8Array, location: string, id: string): Uint8Array {
  if (blake3Hex(blob) !== id) throw new ImageError('CHUNK_CORRUPT', `chunk ${id} in store ${location}: content does not match its digest`);
  return blob;
}

/**
 * getChunk's synchronous twin for worker threads (image/file-worker.ts), which read a directory
 * store by path: the same checks and errors. The caller must have loaded the hasher (initHash).
 * With `scratch`, the blob is read into the caller's buffer (reused from chunk to chunk: a fresh
 * one per chunk costs page faults) and the result is a view of it, valid until the next call;
 * one read larger than the file takes it whole (a regular file reads short only at its end), so
 * the file costs open, read and close, no fstat. `unchecked`: the blob is not compared with its
 * id, for a caller that proves the bytes otherwise (materialize: the file's BLAKE3, SPEC.md §4)
 * and comes back with the check to name a bad chunk.
 */
export function getChunkSync(location: string, id: string, scratch?: ChunkScratch, opts: { unchecked?: boolean } = {}): Uint8Array {
  if (!isDigestHex(id)) throw new ImageError('BAD_REF', `bad digest "${id}"`);
  let packs = threadPacks.get(location);
  if (!packs) {
    packs = new PackSet(location);
    packs.refresh();
    threadPacks.set(location, packs);
  }
  const msg = notInStore(location, id);
  for (let fresh = false; ; fresh = true) {
    const packed = packs.get(id);
    let blob: Uint8Array | undefined;
    try {
      if (!packed) blob = readChunkFileSync(chunkFilePath(location, id), scratch);
      else {
        if (scratch && scratch.buf.length < packed.length) scratch.buf = Buffer.allocUnsafe(Math.max(2 * scratch.buf.length, packed.length));
        blob = readPackedSync(location, packed, scratch?.buf);
      }
    } catch (err) {
      if (!isNotFound(err)) throw new ImageError('STORE_IO', `${msg}: ${(err as Error).message}`, { cause: err });
    }
    if (blob) return opts.unchecked ? blob : checkedBlob(blob, location, id);
    // Not where this thread last saw it: in a pack named (or repacked) since?
    if (fresh) throw withCorruptPacks(new ImageError('NOT_FOUND', msg), packs);
    packs.refresh();
  }
}
/** Each thread's view of the packs of the stores it reads (worker threads keep theirs between jobs). */
const threadPacks = new Map<string, PackSet>();

/** A chunk's own file, whole (see getChunkSync for `scratch`). */
function readChunkFileSync(path: string, scratch: ChunkScratch | undefined): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    let buf = scratch?.buf ?? Buffer.allocUnsafe(fstatSync(fd).size);
    let got = 0;
    for (;;) {
      if (got === buf.length) {
        if (!scratch) break; // its fstat size is read
        buf = scratch.buf = Buffer.concat([buf], Math.max(2 * buf.length, 1 << 16)); // a blob larger than the buffer so far
      }
      const n = readSync(fd, buf, got, buf.length - got, got);
      got += n;
      if (n === 0 || (scratch && got < buf.length)) break; // a short read: the end of the file
    }
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

export const isNotFoundError = (err: unknown) => err instanceof ImageError && err.code === 'NOT_FOUND';

/** A NOT_FOUND that says which pack indexes could not be read (their chunks may be the missing ones). */
export function withCorruptPacks(err: unknown, packs: PackSet): unknown {
  if (!(err instanceof ImageError) || err.code !== 'NOT_FOUND' || packs.corrupt.size === 0) return err;
  return new ImageError('NOT_FOUND', `${err.message} (unreadable pack indexes: ${[...packs.corrupt.values()].join('; ')})`);
}

/** A reader's reusable buffer (getChunkSync grows it for a larger blob). */
export interface ChunkScratch {
  buf: Buffer;
}

/** open(2) of a blob file: NOT_FOUND or STORE_IO with `msg`. */
function openBlob(path: string, msg: string): number {
  try {
    return openSync(path, 'r');
  } catch (err) {
    throw readError(err, msg);
  }
}

/** A failed read of a store file as NOT_FOUND or STORE_IO, with `msg`. */
export function readError(err: unknown, msg: string): ImageError {
  return isNotFound(err) ? new ImageError('NOT_FOUND', msg) : new ImageError('STORE_IO', `${msg}: ${(err as Error).message}`, { cause: err });
}

/**
 * A blob file (or, `packed`, a blob in a pack) read with one trip through the thread pool: open, fstat and close are metadata
 * calls on this thread (microseconds), only the read itself is asynchronous. A build, verify or
 * materialize reads thousands of chunks, and readFile's four trips each were most of their cost.
 */
export async function readChunkFile(path: string, msg: string, packed?: PackedChunk): Promise<Uint8Array> {
  const fd = openBlob(path, msg);
  try {
    const buf = Buffer.allocUnsafe(packed ? packed.length : fstatSync(fd).size);
    const at = packed?.offset ?? 0;
    let got = 0;
    for (let n = -1; got < buf.length && n !== 0; got += n) {
      n = await new Promise<number>((resolve, reject) => read(fd, buf, got, buf.length - got, at + got, (err, bytes) => (err ? reject(err) : resolve(bytes))));
    }
    if (packed && got < buf.length) throw new Error(`pack ${packed.pack} ends inside the blob at ${packed.offset}`);
    return buf.subarray(0, got);
  } catch (err) {
    throw new ImageError('STORE_IO', `${msg}: ${(err as Error).message}`, { cause: err });
  } finally {
    closeSync(fd);
  }
}
