import { open } from 'node:fs/promises';
import { WorkerPool } from '../lib/workers.ts';
import { openChunk, sealChunk, type SealedChunk } from './chunk-codec.ts';
import type { CodecJob, CodecResult } from './codec-worker.ts';
import { ImageError } from './errors.ts';
import { newHasher } from './hash.ts';

/**
 * zstd and the chunk checks are most of an image build's, verify's and materialize's CPU: they
 * run on worker threads (one per core) while the main thread reads, hashes whole files and
 * writes. Should the workers not start, the same work runs inline.
 */
let pool: WorkerPool<CodecJob, CodecResult> | null = null;

function codecPool(): WorkerPool<CodecJob, CodecResult> {
  pool ??= new WorkerPool<CodecJob, CodecResult>(new URL('./codec-worker.ts', import.meta.url), { batch: 16 });
  return pool;
}

/**
 * Inputs are copied, not moved, so a worker that dies with them leaves them for the inline retry;
 * a view is cut out first (cloning a view copies its whole underlying buffer).
 */
const own = (b: Uint8Array) => (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : b.slice());

async function run(job: CodecJob, inline: () => CodecResult): Promise<CodecResult> {
  let r: CodecResult;
  try {
    r = await codecPool().run(job);
  } catch {
    r = inline();
  }
  if ('error' in r) throw new ImageError(r.error.code, r.error.message);
  return r;
}

/** sealChunk on a worker. */
export async function sealChunkOff(plain: Uint8Array, encrypt: boolean): Promise<SealedChunk> {
  return (await run({ op: 'seal', plain: own(plain), encrypt }, () => sealChunk(plain, { encrypt }))) as SealedChunk;
}

/** openChunk on a worker. */
export async function openChunkOff(blob: Uint8Array, ref: { id: string; size: number; key?: string }, opts: { digestChecked?: boolean } = {}): Promise<Uint8Array> {
  const job: CodecJob = { op: 'open', blob: own(blob), ref: { id: ref.id, size: ref.size, ...(ref.key ? { key: ref.key } : {}) }, digestChecked: !!opts.digestChecked };
  return ((await run(job, () => ({ plain: openChunk(blob, ref, opts) }))) as { plain: Uint8Array }).plain;
}

/** A file's BLAKE3 hex, hashed on a worker (which reads the file itself). */
export async function hashFileOff(path: string, onBytes: (n: number) => void = () => {}): Promise<string> {
  let r: CodecResult;
  try {
    r = await codecPool().run({ op: 'hashFile', path });
  } catch {
    return hashFile(path, onBytes);
  }
  if ('error' in r) throw new ImageError(r.error.code, r.error.message);
  const { blake3, size } = r as { blake3: string; size: number };
  onBytes(size);
  return blake3;
}

/** The same on this thread. */
async function hashFile(path: string, onBytes: (n: number) => void = () => {}): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const h = newHasher();
    const buf = Buffer.alloc(1 << 20);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      onBytes(bytesRead);
    }
    return h.digestHex();
  } finally {
    await fh.close();
  }
}
