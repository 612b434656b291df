import { closeSync, fchmodSync, fchownSync, ftruncateSync, futimesSync, linkSync, mkdirSync, openSync, readSync, renameSync, writevSync } from 'node:fs';
import { dirname } from 'node:path';
import { initChunkCodec, openChunkAsync } from './chunk-codec.ts';
import { ImageError } from './errors.ts';
import { newHasher, type Hasher } from './hash.ts';
import type { Extent } from './manifest.ts';
import { getChunkSync } from './store/dir-store.ts';

/**
 * Whole files on a worker thread (lib/workers.ts, started by image/file-jobs.ts): each file's
 * chunks are read from a directory store, checked against their digests, decoded and hashed in
 * order, and, when the file has a destination, written there. Reads, decodes, hashes and writes
 * are synchronous (a worker has nothing else to do: no thread-pool hop or event-loop turn for
 * them). Two workers keep both cores busy.
 */
export interface FileJob {
  /** For messages. */
  path: string;
  blake3: string;
  extents: Extent[];
  /** Write the content to this new file (created 0600, 'wx'); absent: check only. */
  dest?: string;
  /**
   * Hash this existing file instead (a copy written earlier; `extents` unused). A mismatch is no
   * failure: the file is listed as stale, for the caller to write again.
   */
  source?: string;
  /** Then give the written file these, in this order (on its descriptor: no path lookups). */
  meta?: FileMeta;
  /**
   * Once written, checked and given its meta, move `dest` here (its directory made if missing):
   * only a whole, checked file ever gets this name.
   */
  publish?: string;
  /**
   * Then hard-link the file (at `publish`, else at `source` when it still matches) at each of these
   * new paths (their directories exist).
   */
  links?: string[];
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
  /** Files with a `source` whose content no longer matches. */
  stale?: number[];
}

const ZERO = new Uint8Array(1 << 20);
/** Chunks of one file decoded ahead of the hash and the writes. */
const DECODES_AHEAD = 4;
/** Decoded chunks go out in writes of about this size (one writev each). */
const WRITE_BATCH = 1 << 20;

export async function work(job: FilesJob): Promise<FilesOutcome> {
  await initChunkCodec();
  const stale: number[] = [];
  for (const [index, f] of job.files.entries()) {
    try {
      const got = f.source === undefined ? await oneFile(job.store, f) : hashSource(f.source);
      if (got === f.blake3) {
        finish(f);
        continue;
      }
      if (f.source !== undefined) stale.push(index);
      else return { failed: { index, code: 'FILE_TAMPERED', message: 'content does not match its BLAKE3 fingerprint', got }, stale };
    } catch (err) {
      return { failed: { index, code: err instanceof ImageError ? err.code : 'STORE_IO', message: (err as Error).message }, stale };
    }
  }
  return { stale };
}

const READ_BLOCK = 4 << 20;
let readBuffer: Buffer | undefined; // one for the worker's life: fresh ones would cost page faults

/** Publish and link a file whose content matched. */
function finish(f: FileJob): void {
  if (f.publish !== undefined) {
    try {
      renameSync(f.dest!, f.publish);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      mkdirSync(dirname(f.publish), { recursive: true });
      renameSync(f.dest!, f.publish);
    }
  }
  const at = f.publish ?? f.source ?? f.dest!;
  for (const l of f.links ?? []) {
    try {
      linkSync(at, l);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      throw new ImageError('STORE_IO', `${at} vanished while linking ${l} (concurrent gc?)`, { cause: err });
    }
  }
}

function hashSource(path: string): string {
  const h = newHasher();
  const buf = (readBuffer ??= Buffer.allocUnsafe(READ_BLOCK));
  const fd = openSync(path, 'r');
  try {
    for (let n = readSync(fd, buf, 0, buf.length, null); n > 0; n = readSync(fd, buf, 0, buf.length, null)) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digestHex();
}

/**
 * The file's BLAKE3 over its content (holes read as zeros); throws the first chunk's error.
 * Chunk files are read and decoded here, DECODES_AHEAD at once, and taken in order for the hash
 * and the writes.
 */
async function oneFile(store: string, f: FileJob): Promise<string> {
  const h = newHasher();
  const fd = f.dest === undefined ? null : openSync(f.dest, 'wx', 0o600);
  const opened: Array<Promise<Uint8Array> | number> = []; // a number is a hole
  try {
    let batch: Uint8Array[] = [];
    let batchAt = 0;
    let batchBytes = 0;
    let pos = 0;
    const flush = () => {
      if (batchBytes === 0 || fd === null) return;
      const n = writevSync(fd, batch, batchAt);
      if (n !== batchBytes) throw new ImageError('STORE_IO', `short write (${n} of ${batchBytes} bytes at ${batchAt})`);
      batch = [];
      batchBytes = 0;
    };
    const take = async () => {
      const next = opened.shift()!;
      if (typeof next === 'number') {
        zeros(h, next);
        flush(); // a hole is not written: the batch ends here
        pos += next;
        return;
      }
      const plain = await next;
      h.update(plain);
      if (fd === null) return;
      if (batchBytes === 0) batchAt = pos;
      batch.push(plain);
      batchBytes += plain.length;
      pos += plain.length;
      if (batchBytes >= WRITE_BATCH) flush();
    };
    for (const x of f.extents) {
      if ('hole' in x) opened.push(x.hole);
      else {
        const plain = openChunkAsync(getChunkSync(store, x.id), x, { digestChecked: true });
        plain.catch(() => {}); // awaited in order by take(); not an unhandled rejection meanwhile
        opened.push(plain);
      }
      while (opened.length > DECODES_AHEAD) await take();
    }
    while (opened.length > 0) await take();
    if (fd !== null) {
      flush();
      ftruncateSync(fd, pos); // a trailing hole
      const m = f.meta ?? {};
      if (m.owner) fchownSync(fd, ...m.owner);
      if (m.mode !== undefined) fchmodSync(fd, m.mode); // after chown, which clears set-id bits
      if (m.mtime !== undefined) futimesSync(fd, m.mtime, m.mtime);
    }
  } finally {
    await Promise.allSettled(opened); // none still decoding behind the caller's back
    if (fd !== null) closeSync(fd);
  }
  return h.digestHex();
}

function zeros(h: Hasher, n: number): void {
  for (let left = n; left > 0; left -= ZERO.length) h.update(ZERO.subarray(0, Math.min(left, ZERO.length)));
}
