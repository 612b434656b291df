import { closeSync, fchmodSync, fchownSync, ftruncateSync, futimesSync, openSync, readFileSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { initChunkCodec, openChunk } from './chunk-codec.ts';
import { ImageError, isNotFound } from './errors.ts';
import { newHasher, type Hasher } from './hash.ts';
import type { Extent } from './manifest.ts';
import { getChunkSync, type ChunkScratch } from './store/chunk-read.ts';
import { linkAll, makingParent, publishLink } from './fsutil.ts';
import { takeEach, type SharedListJob, type SharedListOutcome } from './shared-list.ts';

/**
 * Whole files on a worker thread (image/worker-pool.ts, jobs from image/file-jobs.ts): each file's
 * chunks are read from a directory store, checked against their digests, decoded and hashed in
 * order, and, when the file has a destination, written there. Every step is synchronous (a worker
 * has nothing else to do: no thread-pool hop or event-loop turn for any of them), and each byte is
 * touched as few times as it can be: a chunk file is read into one reused buffer, its frame is
 * decoded straight into the file's next bytes in another, and those are hashed and written from
 * there in blocks of up to OUT_BLOCK. Two workers keep both cores busy, each taking the next file
 * of the shared list as it finishes one (see FilesJob).
 *
 * One integrity proof per byte: a file that is written (materialize) is proven by its BLAKE3,
 * which the manifest names and which is computed over every byte written, so its chunks are
 * decoded without first hashing each blob against its id (about 0.17 ms of CPU per MiB here, a
 * tenth of the path). What stays in front of every decode: the header, the frame's bound (no
 * decompression bomb: libzstd decodes malformed input safely into a bounded buffer), the GCM tag
 * of an encrypted chunk. A file that fails (a decode error or the wrong BLAKE3) is written again
 * with every chunk checked against its id, so a bad chunk is named with the same error as
 * before (test/image/tamper). A check-only pass (the store's verify) keeps the id check: a blob
 * that decodes right but is not what its id says is a damaged store entry, which pulls from it
 * would refuse.
 */
export interface FileJob {
  /** For messages. */
  path: string;
  blake3: string;
  extents: Extent[];
  /**
   * A copy that may exist already (an object written earlier): when it holds this content, it is
   * used as is (listed in `reused`) and nothing is written; missing or changed, the file is written.
   */
  existing?: string;
  /**
   * Write the content to this new file (created 0600, 'wx'; missing directories made, 0700);
   * absent: check only. When the `existing` copy is used instead, it is hard-linked here.
   */
  dest?: string;
  /** Then give the written file these, in this order (on its descriptor: no path lookups). */
  meta?: FileMeta;
  /**
   * Once written, checked and given its meta, hard-link `dest` at this name too (a changed copy
   * there is replaced): only a whole, checked file ever gets this name.
   */
  publish?: string;
  /** With FilesJob.decoded: each extent's offset in the pack (-1: a hole, or not in it). */
  at?: number[];
  /**
   * Then hard-link the file at each of these new paths (missing directories are made, 0700): the
   * `existing` copy when it is reused, else `dest`.
   */
  links?: string[];
}

export interface FileMeta {
  owner?: [number, number];
  mode?: number;
  /** Seconds since the epoch (utimes' double). */
  mtime?: number;
}

/** A job of the shared list (image/shared-list.ts): every file, the same list for every worker. */
export interface FilesJob extends SharedListJob {
  /** A directory store's location. */
  store: string;
  /**
   * The image's decoded chunks (a pull's pack in the node's image cache, SPEC.md §7): a file's
   * chunks are read from the pack at the offsets its `at` gives instead of decoding the store's
   * blobs. A chunk the pack cannot give whole is read from the store; a file that fails its BLAKE3
   * is written again from the store's blobs alone, with every id checked, and the pack's index is
   * removed (no later materialize uses it).
   */
  decoded?: { pack: string; index: string };
}

/** A file's result: whether its `existing` copy was used (nothing written). */
export type FileDone = boolean;

/** How a file failed (FILE_TAMPERED: `got` is the BLAKE3 its content had). */
export interface FileFailed {
  code: ImageError['code'];
  message: string;
  got?: string;
}

export type FilesOutcome = SharedListOutcome<FileFailed>;

const ZERO = new Uint8Array(1 << 20);
/**
 * Decoded bytes are assembled up to this many, then hashed and written in one call each: small
 * enough to be still in the CPU's cache when they are hashed and written right after decoding.
 */
const OUT_BLOCK = 512 << 10;
/** One of each for the worker's life: fresh buffers would cost page faults. */
let out: Buffer | undefined;
const blobs: ChunkScratch = { buf: Buffer.alloc(0) }; // getChunkSync grows it to the largest blob

export async function work(job: FilesJob): Promise<FilesOutcome> {
  await initChunkCodec();
  try {
    return takeEach<FileJob & { size: number }, FileDone, FileFailed>(job, (f) => oneJob(job, f), failedWith, (f) => f.size);
  } finally {
    if (pack !== undefined && pack.fd !== null) closeSync(pack.fd);
    pack = undefined;
  }
}

/** This job's pack of decoded chunks, opened at its first use (null: it cannot be read). */
let pack: { fd: number | null } | undefined;
function packFd(job: FilesJob): number | null {
  if (job.decoded === undefined) return null;
  if (pack === undefined) {
    try {
      pack = { fd: openSync(job.decoded.pack, 'r') };
    } catch {
      pack = { fd: null }; // gone or unreadable: the store's blobs are read
    }
  }
  return pack.fd;
}

/** One file: its `existing` copy used when intact (true), else written or checked from the store. */
function oneJob(job: FilesJob, f: FileJob): FileDone {
  if (f.existing !== undefined && hashExisting(f.existing) === f.blake3) {
    linkAll(f.existing, f.dest === undefined ? f.links : [f.dest, ...(f.links ?? [])]);
    return true;
  }
  const got = provenFile(job, f);
  if (got !== f.blake3) throw new Tampered(got);
  if (f.dest !== undefined) {
    if (f.publish !== undefined) publishLink(f.dest, f.publish);
    linkAll(f.dest, f.links);
  }
  return false;
}

class Tampered extends ImageError {
  constructor(readonly got: string) {
    super('FILE_TAMPERED', 'content does not match its BLAKE3 fingerprint');
  }
}

function failedWith(err: unknown): FileFailed {
  if (err instanceof Tampered) return { code: err.code, message: err.message, got: err.got };
  return { code: err instanceof ImageError ? err.code : 'STORE_IO', message: (err as Error).message };
}

/** The BLAKE3 of a file, or null when there is none. */
function hashExisting(path: string): string | null {
  // Usually absent (a new object): a stat that says so costs ~2 µs, a failed open's exception ~10.
  if (!statSync(path, { throwIfNoEntry: false })) return null;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
  const h = newHasher();
  const buf = (out ??= Buffer.allocUnsafe(OUT_BLOCK));
  try {
    for (let n = readSync(fd, buf, 0, buf.length, null); n > 0; n = readSync(fd, buf, 0, buf.length, null)) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digestHex();
}

/**
 * The file's BLAKE3 (see the header): a written file first from its decoded chunks where there are
 * any, else without the chunk-id checks; when that fails, again from the store's blobs with them,
 * which throws the first bad chunk's error as a checked pass always did (and the file's decoded
 * chunks, one of which may be what was wrong, are dropped from the cache).
 */
function provenFile(job: FilesJob, f: FileJob): string {
  if (f.dest !== undefined) {
    try {
      const got = oneFile(job.store, f, false, f.at ? packFd(job) : null);
      if (got === f.blake3) return got;
    } catch (err) {
      if (!(err instanceof ImageError && err.code === 'CHUNK_CORRUPT')) throw err;
    }
    rmSync(f.dest, { force: true });
    if (job.decoded !== undefined) forgetPack(job.decoded.index);
  }
  return oneFile(job.store, f, true);
}

/** Removes a pack's index, so that no later materialize reads it (one of its chunks may be wrong). */
function forgetPack(index: string): void {
  try {
    rmSync(index, { force: true });
  } catch {
    // a cache that cannot be changed is left as it is: the next materialize falls back again, still proven
  }
}

/** The file's BLAKE3 over its content (holes read as zeros); throws the first chunk's error. */
function oneFile(store: string, f: FileJob, checkIds: boolean, packed: number | null = null): string {
  const h = newHasher();
  const dest = f.dest;
  const m = f.meta ?? {};
  // Created with its final mode where open can give it (no set-id bits, which a chown would
  // clear, and none the umask takes away): no fchmod then.
  const createMode = m.mode !== undefined && (m.mode & ~0o777) === 0 && (m.mode & umask()) === 0 ? m.mode : 0o600;
  const fd = dest === undefined ? null : makingParent(dest, 0o700, () => openSync(dest, 'wx', createMode));
  try {
    let buf = (out ??= Buffer.allocUnsafe(OUT_BLOCK));
    let fill = 0; // bytes assembled in buf
    let pos = 0; // the file offset of buf[0]
    const flush = () => {
      if (fill === 0) return;
      const data = buf.subarray(0, fill);
      h.update(data);
      if (fd !== null) {
        const n = writeSync(fd, data, 0, fill, pos);
        if (n !== fill) throw new ImageError('STORE_IO', `short write (${n} of ${fill} bytes at ${pos})`);
      }
      pos += fill;
      fill = 0;
    };
    for (let i = 0; i < f.extents.length; i++) {
      const x = f.extents[i]!;
      if ('hole' in x) {
        flush(); // a hole is not written: the block ends here
        zeros(h, x.hole);
        pos += x.hole;
        continue;
      }
      if (fill + x.size > buf.length) {
        flush();
        if (x.size > buf.length) buf = out = Buffer.allocUnsafe(x.size); // a chunk larger than any so far
      }
      const into = buf.subarray(fill, fill + x.size);
      if (packed !== null && readPacked(packed, f.at![i]!, into)) {
        fill += x.size;
        continue;
      }
      const plain = openChunk(getChunkSync(store, x.id, blobs, { unchecked: !checkIds }), x, { digestChecked: true, into });
      if (plain.buffer !== into.buffer || plain.byteOffset !== into.byteOffset) into.set(plain); // stored or decrypted: not decoded in place
      fill += x.size;
    }
    flush();
    if (fd !== null) {
      const last = f.extents.at(-1);
      if (last && 'hole' in last) ftruncateSync(fd, pos); // a trailing hole
      if (m.owner) fchownSync(fd, ...m.owner);
      if (m.mode !== undefined && m.mode !== createMode) fchmodSync(fd, m.mode); // after chown, which clears set-id bits
      if (m.mtime !== undefined) futimesSync(fd, m.mtime, m.mtime);
    }
  } finally {
    if (fd !== null) closeSync(fd);
  }
  return h.digestHex();
}

/** Fills `into` from the pack at `at`; false when it cannot (not in it, short, unreadable): the store's blob is read then. */
function readPacked(fd: number, at: number, into: Buffer): boolean {
  if (!(at >= 0)) return false;
  try {
    let got = 0;
    for (let n = -1; got < into.length && n !== 0; got += n) n = readSync(fd, into, got, into.length - got, at + got);
    return got === into.length;
  } catch {
    return false;
  }
}

/** The process's file mode creation mask, read once (all of it when unknown: every mode is then set by fchmod). */
let mask: number | undefined;
function umask(): number {
  if (mask === undefined) {
    const m = /^Umask:\s*([0-7]+)$/m.exec(readFileSync('/proc/self/status', { encoding: 'utf8', flag: 'r' }));
    mask = m ? parseInt(m[1]!, 8) : 0o777;
  }
  return mask;
}

function zeros(h: Hasher, n: number): void {
  for (let left = n; left > 0; left -= ZERO.length) h.update(ZERO.subarray(0, Math.min(left, ZERO.length)));
}
