import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { ChunkStream, scanBuffers, type ChunkingParams } from './chunker.ts';
import { initChunkCodec, sealChunk } from './chunk-codec.ts';
import { newHasher } from './hash.ts';
import type { Extent } from './manifest.ts';
import { chunkFilePath } from './store/chunk-files.ts';
import { claim } from './store/claims.ts';
import { PackWriter } from './store/packs.ts';
import { stopAll, takeEach, type SharedListJob, type SharedListOutcome } from './shared-list.ts';

/**
 * A build's work on its files, on a worker thread (image/worker-pool.ts): read each, fingerprint it, cut
 * it into chunks, seal each (zstd, BLAKE3) and write the new ones into the store, all with
 * synchronous calls. Every byte is handled on the worker that read it (no copies between
 * threads), a file of any size streams in bounded memory, and the build's main thread only
 * assembles the manifest from the extents that come back. The files are one list shared by the
 * workers (image/shared-list.ts: largest first, each takes the next as it finishes one, results
 * back a few at a time while the main thread fills in the manifest).
 */
export interface StoreFilesJob extends SharedListJob {
  chunking: ChunkingParams;
  encrypt: boolean;
  /** Directory of the DirStore the chunks go to. */
  store: string;
  /** The build's chunk claims (image/store/claims.ts): what no worker has to write. */
  claims: SharedArrayBuffer;
}

/** An item of the list: a file and its size at scan time (reading past it or stopping short means the file changed). */
export interface FileToStore {
  path: string;
  size: number;
}

/** A file that could not be read: the build fails with this. */
export interface StoreFailed {
  message: string;
}

export type StoreFilesOutcome = SharedListOutcome<StoreFailed>;

export interface StoredFile {
  /** Bytes read: differs from the job's size when the file changed (the rest is then empty). */
  size: number;
  blake3: string;
  extents: Extent[];
  /** Chunks this job added to the store (absent before): their blob sizes, and where in this worker's pack (its path in tmp/) they lie. */
  added: Array<{ id: string; bytes: number; pack: string; offset: number }>;
}

/** Read size: large enough for few system calls, small enough that a worker stays lean. */
const READ_BLOCK = 4 << 20;

export async function work(job: StoreFilesJob): Promise<StoreFilesOutcome> {
  await initChunkCodec();
  // Closed before the job's outcome goes back: the main thread names the pack once every worker is done.
  const pack = new PackWriter(job.store);
  try {
    return await takeEach<FileToStore, StoredFile, StoreFailed>(
      job,
      (f) => {
        const r = storeFile(f.path, f.size, job, pack);
        if (r.size !== f.size) stopAll(job.shared); // it changed: the build fails (the main thread says how)
        return r;
      },
      (err) => ({ message: (err as Error).message }),
      (f) => f.size,
    );
  } finally {
    pack.close();
  }
}

/** Read, hash, chunk, seal and store one file: every call synchronous (the worker has nothing else to do). */
function storeFile(path: string, size: number, job: StoreFilesJob, pack: PackWriter): StoredFile {
  const hasher = newHasher();
  const stream = new ChunkStream(job.chunking);
  const out: StoredFile = { size: 0, blake3: '', extents: [], added: [] };
  const emit = (plain: Uint8Array) => {
    let x: Extent;
    if (isZero(plain)) x = { hole: plain.length };
    else {
      const sealed = sealChunk(plain, { encrypt: job.encrypt, transient: true }); // written below, before the next seal
      // New to the store: in no pack it had, taken by no other worker, and no loose chunk file (a pull's).
      if (claim(job.claims, sealed.id) && !statSync(chunkFilePath(job.store, sealed.id), { throwIfNoEntry: false })) {
        const offset = pack.append(sealed.id, sealed.blob);
        out.added.push({ id: sealed.id, bytes: sealed.blob.length, pack: pack.path!, offset });
      }
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
  if (out.size !== size) return { size: out.size, blake3: '', extents: [], added: [] };
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
