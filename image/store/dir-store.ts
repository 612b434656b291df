import { closeSync, fstatSync, openSync, read, readFileSync, readSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ImageError, isNotFound } from '../errors.ts';
import { blake3Hex, initHash, isDigestHex } from '../hash.ts';
import { isValidName } from '../ref.ts';
import { fsyncDir, syncFileSystem, writeFileDurably, writeFileSynced } from '../../lib/durable.ts';
import type { ListableStore } from './types.ts';
import { chunkFilePath, tmpFilePath } from './chunk-files.ts';

export { chunkFilePath, putChunkSync } from './chunk-files.ts';

const MARKER = 'zos-image-store';
const LAYOUT_VERSION = 'v1\n';

/**
 * A store in a directory (SPEC.md §5): the node's local store shared by all images, and the same
 * layout used as a remote (copy it anywhere, or serve it over HTTP as-is).
 *   chunks/<hex[0:2]>/<hex>   manifests/<hex[0:2]>/<hex>   tags/<urlencoded name>   tmp/
 * Writes go to tmp/ and are renamed into place, so readers and concurrent writers never see a
 * partial file; the same content written twice is harmless.
 * Durability: chunks and manifests are not fsync'd one by one; setTag first syncs the whole
 * filesystem once (syncfs), then writes the tag durably, so after a power cut a tag never names
 * a manifest or chunk that was lost (an untagged build may lose its files: gc drops them anyway).
 */
export interface DirStoreOptions {
  create?: boolean;
  /** Makes every file written so far durable (default syncFileSystem; tests inject one to see the order). */
  syncFs?: (path: string) => Promise<void>;
}

export class DirStore implements ListableStore {
  readonly writable = true;
  private closed = false;

  private constructor(
    readonly location: string,
    private readonly syncFs: (path: string) => Promise<void>,
  ) {}

  static async open(dir: string, opts: DirStoreOptions = {}): Promise<DirStore> {
    await initHash();
    const marker = join(dir, MARKER);
    try {
      const v = await readFile(marker, 'utf8');
      // Empty: a power cut right after creation lost the marker's bytes (seen on the OS's cache
      // disk); no other layout writes an empty marker, so the store is set up again.
      if (v === '') throw Object.assign(new Error('empty store marker'), { code: 'ENOENT' });
      if (v !== LAYOUT_VERSION) throw new ImageError('STORE_IO', `store ${dir}: unsupported layout ${JSON.stringify(v.trim())}`);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      if (opts.create === false) throw new ImageError('NOT_FOUND', `no image store at ${dir}`);
      for (const sub of ['chunks', 'manifests', 'tags', 'tmp']) await mkdir(join(dir, sub), { recursive: true });
      await writeFileDurably(marker, LAYOUT_VERSION);
    }
    return new DirStore(dir, opts.syncFs ?? syncFileSystem);
  }

  chunkPath(id: string): string {
    return chunkFilePath(this.location, id);
  }

  manifestPath(digest: string): string {
    return join(this.location, 'manifests', digest.slice(0, 2), digest);
  }

  private tagPath(name: string): string {
    return join(this.location, 'tags', encodeURIComponent(name));
  }

  private check(id: string): void {
    if (this.closed) throw new ImageError('ERR_CLOSED', `store ${this.location} is closed`);
    if (!isDigestHex(id)) throw new ImageError('BAD_REF', `bad digest "${id}"`);
  }

  /**
   * temp + rename: atomic for readers, safe for concurrent writers of the same content. `durable`
   * also fsyncs the file before the rename and its directory after (whole or absent after a power cut).
   */
  private async atomicWrite(path: string, data: Uint8Array | string, durable = false): Promise<void> {
    const tmp = tmpFilePath(this.location);
    if (durable) await writeFileSynced(tmp, data);
    else await writeFile(tmp, data);
    try {
      await rename(tmp, path);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await mkdir(join(path, '..'), { recursive: true });
      await rename(tmp, path);
    }
    if (durable) await fsyncDir(join(path, '..'));
  }

  async hasChunk(id: string): Promise<boolean> {
    this.check(id);
    return exists(this.chunkPath(id));
  }

  async getChunk(id: string): Promise<Uint8Array> {
    this.check(id);
    return checkedBlob(await readChunkFile(this.chunkPath(id), notInStore(this.location, id)), this.location, id);
  }

  async putChunk(id: string, blob: Uint8Array): Promise<boolean> {
    this.check(id);
    const path = this.chunkPath(id);
    const st = await stat(path).catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
    if (st && st.size === blob.length) return false;
    await this.atomicWrite(path, blob);
    return true;
  }

  async hasManifest(digest: string): Promise<boolean> {
    this.check(digest);
    return exists(this.manifestPath(digest));
  }

  async getManifest(digest: string): Promise<Uint8Array> {
    this.check(digest);
    // Read synchronously (a few hundred KB, ~0.2 ms): readFile's open, stat, read and close each
    // wait for a thread-pool turn, under load tens of ms ahead of every materialize and verify.
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(this.manifestPath(digest));
    } catch (err) {
      throw readError(err, `manifest blake3:${digest} not in store ${this.location}`);
    }
    if (blake3Hex(bytes) !== digest) throw new ImageError('MANIFEST_CORRUPT', `manifest blake3:${digest} in store ${this.location}: content does not match its digest`);
    return bytes;
  }

  async putManifest(bytes: Uint8Array): Promise<string> {
    const digest = blake3Hex(bytes);
    this.check(digest);
    if (!(await exists(this.manifestPath(digest)))) await this.atomicWrite(this.manifestPath(digest), bytes);
    return digest;
  }

  async getTag(name: string): Promise<string | undefined> {
    if (!isValidName(name)) throw new ImageError('BAD_REF', `bad tag name "${name}"`);
    try {
      return parseTag(await readFile(this.tagPath(name), 'utf8'), name);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * Starts writing back what was written so far (the same syncfs as setTag's): a build calls it
   * while it writes chunks, so that setTag's sync finds little left. Not a durability point.
   */
  startWriteback(): Promise<void> {
    return this.syncFs(this.location);
  }

  async setTag(name: string, digest: string): Promise<void> {
    this.check(digest);
    if (!isValidName(name)) throw new ImageError('BAD_REF', `bad tag name "${name}"`);
    await this.syncFs(this.location); // the manifest and chunks it names reach the disk before the tag
    await this.atomicWrite(this.tagPath(name), `blake3:${digest}\n`, true);
  }

  async deleteTag(name: string): Promise<boolean> {
    try {
      await unlink(this.tagPath(name));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async listTags(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const f of (await readdir(join(this.location, 'tags'))).sort()) {
      const name = decodeURIComponent(f);
      out.set(name, parseTag(await readFile(join(this.location, 'tags', f), 'utf8'), name));
    }
    return out;
  }

  listChunks(): AsyncIterable<string> {
    return listFanout(join(this.location, 'chunks'));
  }

  listManifests(): AsyncIterable<string> {
    return listFanout(join(this.location, 'manifests'));
  }

  /** Remove a chunk or manifest file, if older than `olderThanMs` (protects in-flight builds). */
  async removeObject(kind: 'chunks' | 'manifests', id: string, olderThanMs: number, now: number): Promise<number> {
    const path = kind === 'chunks' ? this.chunkPath(id) : this.manifestPath(id);
    const st = await stat(path).catch(() => undefined);
    if (!st || now - st.mtimeMs < olderThanMs) return 0;
    await rm(path, { force: true });
    return st.size;
  }

  /** Temp files left by crashed writers. */
  async sweepTmp(olderThanMs: number, now: number): Promise<number> {
    let n = 0;
    for (const f of await readdir(join(this.location, 'tmp'))) {
      const st = await stat(join(this.location, 'tmp', f)).catch(() => undefined);
      if (st && now - st.mtimeMs >= olderThanMs) {
        await rm(join(this.location, 'tmp', f), { force: true });
        n++;
      }
    }
    return n;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

const notInStore = (location: string, id: string) => `chunk ${id} not in store ${location}`;

function checkedBlob(blob: Uint8Array, location: string, id: string): Uint8Array {
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
  const msg = notInStore(location, id);
  const fd = openBlob(chunkFilePath(location, id), msg);
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
    return opts.unchecked ? buf.subarray(0, got) : checkedBlob(buf.subarray(0, got), location, id);
  } catch (err) {
    if (err instanceof ImageError) throw err;
    throw new ImageError('STORE_IO', `${msg}: ${(err as Error).message}`, { cause: err });
  } finally {
    closeSync(fd);
  }
}

/** A reader's reusable buffer (getChunkSync grows it for a larger blob). */
export interface ChunkScratch {
  buf: Buffer;
}

function parseTag(text: string, name: string): string {
  const m = /^blake3:([0-9a-f]{64})\n?$/.exec(text);
  if (!m) throw new ImageError('STORE_IO', `tag "${name}" is corrupt`);
  return m[1]!;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

async function readOrNotFound(path: string, msg: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    throw readError(err, msg);
  }
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
function readError(err: unknown, msg: string): ImageError {
  return isNotFound(err) ? new ImageError('NOT_FOUND', msg) : new ImageError('STORE_IO', `${msg}: ${(err as Error).message}`, { cause: err });
}

/**
 * A blob file read with one trip through the thread pool: open, fstat and close are metadata
 * calls on this thread (microseconds), only the read itself is asynchronous. A build, verify or
 * materialize reads thousands of chunks, and readFile's four trips each were most of their cost.
 */
async function readChunkFile(path: string, msg: string): Promise<Uint8Array> {
  const fd = openBlob(path, msg);
  try {
    const buf = Buffer.allocUnsafe(fstatSync(fd).size);
    let got = 0;
    for (let n = -1; got < buf.length && n !== 0; got += n) {
      n = await new Promise<number>((resolve, reject) => read(fd, buf, got, buf.length - got, got, (err, bytes) => (err ? reject(err) : resolve(bytes))));
    }
    return buf.subarray(0, got);
  } catch (err) {
    throw new ImageError('STORE_IO', `${msg}: ${(err as Error).message}`, { cause: err });
  } finally {
    closeSync(fd);
  }
}

async function* listFanout(dir: string): AsyncIterable<string> {
  for (const sub of (await readdir(dir)).sort()) {
    for (const f of (await readdir(join(dir, sub))).sort()) if (isDigestHex(f)) yield f;
  }
}
