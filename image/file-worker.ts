import { closeSync, fchmodSync, fchownSync, ftruncateSync, futimesSync, openSync, writevSync } from 'node:fs';
import { initChunkCodec, openChunk } from './chunk-codec.ts';
import { ImageError } from './errors.ts';
import { newHasher, type Hasher } from './hash.ts';
import type { Extent } from './manifest.ts';
import { getChunkSync } from './store/dir-store.ts';

/**
 * Whole files on a worker thread (lib/workers.ts, started by image/file-jobs.ts): each file's
 * chunks are read from a directory store, checked against their digests, decoded and hashed in
 * order, and, when the file has a destination, written there. Everything is synchronous: a worker
 * has nothing else to do, so there are no promises, thread-pool hops or event-loop turns per chunk,
 * and two workers keep both cores busy.
 */
export interface FileJob {
  /** For messages. */
  path: string;
  blake3: string;
  extents: Extent[];
  /** Write the content to this new file (created 0600, 'wx'); absent: check only. */
  dest?: string;
  /** Then give the written file these, in this order (on its descriptor: no path lookups). */
  meta?: FileMeta;
}

export interface FileMeta {
  owner?: [number, number];
  mode?: number;
  /** Seconds since the epoch (utimes' double). */
  mtime?: number;
}

export interface FilesJob {
  /** A directory store's location. */
  store: string;
  files: FileJob[];
}

/** The first file that failed, if one did; the files before it are done. */
export interface FilesOutcome {
  failed?: { index: number; code: ImageError['code']; message: string; got?: string };
}

const ZERO = new Uint8Array(1 << 20);
/** Decoded chunks go out in writes of about this size (one writev each). */
const WRITE_BATCH = 1 << 20;

export async function work(job: FilesJob): Promise<FilesOutcome> {
  await initChunkCodec();
  for (const [index, f] of job.files.entries()) {
    try {
      const got = oneFile(job.store, f);
      if (got !== f.blake3) return { failed: { index, code: 'FILE_TAMPERED', message: 'content does not match its BLAKE3 fingerprint', got } };
    } catch (err) {
      return { failed: { index, code: err instanceof ImageError ? err.code : 'STORE_IO', message: (err as Error).message } };
    }
  }
  return {};
}

/** The file's BLAKE3 over its content (holes read as zeros); throws the first chunk's error. */
function oneFile(store: string, f: FileJob): string {
  const h = newHasher();
  if (f.dest === undefined) {
    for (const x of f.extents) {
      if ('hole' in x) zeros(h, x.hole);
      else h.update(openChunk(getChunkSync(store, x.id), x, { digestChecked: true }));
    }
    return h.digestHex();
  }
  const fd = openSync(f.dest, 'wx', 0o600);
  try {
    let batch: Uint8Array[] = [];
    let batchAt = 0;
    let batchBytes = 0;
    let pos = 0;
    const flush = () => {
      if (batchBytes === 0) return;
      const n = writevSync(fd, batch, batchAt);
      if (n !== batchBytes) throw new ImageError('STORE_IO', `short write (${n} of ${batchBytes} bytes at ${batchAt})`);
      batch = [];
      batchBytes = 0;
    };
    for (const x of f.extents) {
      if ('hole' in x) {
        zeros(h, x.hole);
        flush(); // a hole is not written: the batch ends here
        pos += x.hole;
        continue;
      }
      const plain = openChunk(getChunkSync(store, x.id), x, { digestChecked: true });
      h.update(plain);
      if (batchBytes === 0) batchAt = pos;
      batch.push(plain);
      batchBytes += plain.length;
      pos += plain.length;
      if (batchBytes >= WRITE_BATCH) flush();
    }
    flush();
    ftruncateSync(fd, pos); // a trailing hole
    const m = f.meta ?? {};
    if (m.owner) fchownSync(fd, ...m.owner);
    if (m.mode !== undefined) fchmodSync(fd, m.mode); // after chown, which clears set-id bits
    if (m.mtime !== undefined) futimesSync(fd, m.mtime, m.mtime);
  } finally {
    closeSync(fd);
  }
  return h.digestHex();
}

function zeros(h: Hasher, n: number): void {
  for (let left = n; left > 0; left -= ZERO.length) h.update(ZERO.subarray(0, Math.min(left, ZERO.length)));
}
