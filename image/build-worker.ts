import { closeSync, openSync, readSync } from 'node:fs';
import { BroadcastChannel } from 'node:worker_threads';
import { ChunkStream, scanBuffers, type ChunkingParams } from './chunker.ts';
import { initChunkCodec, sealChunk } from './chunk-codec.ts';
import { newHasher } from './hash.ts';
import type { Extent } from './manifest.ts';
import { putChunkSync } from './store/chunk-files.ts';

/**
 * A build's work on its files, on a worker thread (lib/workers.ts): read each, fingerprint it, cut
 * it into chunks, seal each (zstd, BLAKE3) and write the new ones into the store, all with
 * synchronous calls. Every byte is handled on the worker that read it (no copies between
 * threads), a file of any size streams in bounded memory, and the build's main thread only
 * assembles the manifest from the extents that come back.
 *
 * Every worker gets the whole list and a shared cursor: each takes the next file as it finishes
 * one (Atomics), with no round trip to the main thread in between (a worker that waited for the
 * main thread's turn between jobs idled), so the workers finish within one file of each other.
 * Finished files go to the main thread on a BroadcastChannel a few at a time (a message per small
 * file would cost more than the file), where it fills in the manifest meanwhile.
 */
export interface StoreFilesJob {
  /** JSON of every file, Array<{ path, size }> (size at scan time: reading past it or stopping short means the file changed), largest first; one string, so each worker gets a copy of it and not a clone of every object. */
  files: string;
  /** Int32Array over it: [CURSOR] the next file to take, [STOP] set once a file failed (the others stop before their next file). */
  shared: SharedArrayBuffer;
  /** The BroadcastChannel the finished files go out on (StoredFile[] per message). */
  channel: string;
  chunking: ChunkingParams;
  encrypt: boolean;
  /** Directory of the DirStore the chunks go to. */
  store: string;
}

export const CURSOR = 0;
export const STOP = 1;

/** What a worker's job returns once the list is done (or stopped). */
export interface StoreFilesOutcome {
  /** Files it posted on the channel (the main thread waits until it has them all). */
  posted: number;
  /** A file that could not be read: the build fails with this. */
  failed?: { index: number; message: string };
}

/** Finished files are posted once this many bytes or files are done since the last post. */
const POST_BYTES = 1 << 20;
const POST_FILES = 64;

export interface StoredFile {
  /** The file's place in the job's list. */
  index: number;
  /** Bytes read: differs from the job's size when the file changed (the rest is then empty). */
  size: number;
  blake3: string;
  extents: Extent[];
  /** Chunks this job added to the store (absent before), with their blob sizes. */
  added: Array<{ id: string; bytes: number }>;
}

/** Read size: large enough for few system calls, small enough that a worker stays lean. */
const READ_BLOCK = 4 << 20;
export async function work(job: StoreFilesJob): Promise<StoreFilesOutcome> {
  await initChunkCodec();
  const files = JSON.parse(job.files) as Array<{ path: string; size: number }>;
  const shared = new Int32Array(job.shared);
  const channel = new BroadcastChannel(job.channel);
  let batch: StoredFile[] = [];
  let bytes = 0;
  let posted = 0;
  const post = () => {
    if (batch.length === 0) return;
    channel.postMessage(batch);
    posted += batch.length;
    batch = [];
    bytes = 0;
  };
  let failed: StoreFilesOutcome['failed'];
  try {
    while (Atomics.load(shared, STOP) === 0) {
      const index = Atomics.add(shared, CURSOR, 1);
      const f = files[index];
      if (!f) break;
      let r: StoredFile;
      try {
        r = storeFile(index, f.path, f.size, job);
      } catch (err) {
        Atomics.store(shared, STOP, 1);
        failed = { index, message: (err as Error).message };
        break;
      }
      batch.push(r);
      bytes += f.size;
      if (r.size !== f.size) Atomics.store(shared, STOP, 1); // it changed: the build fails
      if (bytes >= POST_BYTES || batch.length >= POST_FILES) post();
    }
    post();
  } finally {
    channel.close(); // what was posted is still delivered
  }
  return failed ? { posted, failed } : { posted };
}

/** Read, hash, chunk, seal and store one file: every call synchronous (the worker has nothing else to do). */
function storeFile(index: number, path: string, size: number, job: StoreFilesJob): StoredFile {
  const hasher = newHasher();
  const stream = new ChunkStream(job.chunking);
  const out: StoredFile = { index, size: 0, blake3: '', extents: [], added: [] };
  const emit = (plain: Uint8Array) => {
    let x: Extent;
    if (isZero(plain)) x = { hole: plain.length };
    else {
      const sealed = sealChunk(plain, { encrypt: job.encrypt, transient: true }); // written below, before the next seal
      if (putChunkSync(job.store, sealed.id, sealed.blob)) out.added.push({ id: sealed.id, bytes: sealed.blob.length });
      x = { id: sealed.id, size: plain.length, ...(sealed.key ? { key: sealed.key } : {}) };
    }
    const last = out.extents[out.extents.length - 1];
    if ('hole' in x && last && 'hole' in last) last.hole += x.hole;
    else out.extents.push(x);
  };
  // Two read buffers used in turn for the life of the worker, inside the chunker's memory, where
  // they are scanned without a copy (image/chunker.ts scanBuffers): the chunk stream holds back a
  // view of the last block only until the next push, and every chunk of a block is sealed before
  // the next read.
  const buffers = scanBuffers(2, READ_BLOCK);
  const fd = openSync(path, 'r');
  try {
    for (let turn = 0; ; turn ^= 1) {
      const buf = buffers[turn];
      // What is left +1, so that growth shows.
      const n = readSync(fd, buf, 0, Math.min(READ_BLOCK, Math.max(0, size - out.size) + 1), null);
      if (n === 0) break;
      const data = buf.subarray(0, n);
      hasher.update(data);
      out.size += n;
      if (out.size > size) break; // it grew: refused by the caller
      // Chunks are views of this block or the one before: each is sealed before the next read.
      for (const c of stream.push(data)) emit(c);
    }
  } finally {
    closeSync(fd);
  }
  if (out.size !== size) return { index, size: out.size, blake3: '', extents: [], added: [] };
  for (const c of stream.end()) emit(c);
  out.blake3 = hasher.digestHex();
  return out;
}

/** All-zero data: stored as a hole, not a chunk. */
function isZero(buf: Uint8Array): boolean {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  return b.equals(zeros(b.length));
}
let zeroBuf = Buffer.alloc(0);
function zeros(n: number): Buffer {
  if (zeroBuf.length < n) zeroBuf = Buffer.alloc(Math.max(n, 1 << 18));
  return zeroBuf.subarray(0, n);
}
