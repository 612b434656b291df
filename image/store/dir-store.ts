import { readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ImageError, isNotFound } from '../errors.ts';
import { blake3Hex, initHash, isDigestHex } from '../hash.ts';
import { isValidName } from '../ref.ts';
import { fsyncDir, syncFileSystem, writeFileDurably, writeFileSynced } from '../../lib/durable.ts';
import type { ListableStore } from './types.ts';
import { chunkFilePath, tmpFilePath } from './chunk-files.ts';
import { decodePackIndex, encodePackIndex, packFilePath, PackSet, type PackEntry } from './packs.ts';
import { checkedBlob, isNotFoundError, notInStore, readChunkFile, readError, withCorruptPacks } from './chunk-read.ts';

export { chunkFilePath } from './chunk-files.ts';

const MARKER = 'zos-image-store';
const LAYOUT_VERSION = 'v1\n';

/**
 * A store in a directory (SPEC.md §5): the node's local store shared by all images, and the same
 * layout used as a remote (copy it anywhere, or serve it over HTTP as-is).
 *   chunks/<hex[0:2]>/<hex>   packs/<p>.pack|.idx   manifests/<hex[0:2]>/<hex>[.packs]   tags/<urlencoded name>   tmp/
 * A chunk is a blob in a pack (packs.ts: builds and pulls write them) or, in a store written
 * before session 13, a file of its own (still read, and removed by gc).
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
  private readonly packs: PackSet;

  private constructor(
    readonly location: string,
    private readonly syncFs: (path: string) => Promise<void>,
  ) {
    this.packs = new PackSet(location);
  }

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
      for (const sub of ['chunks', 'packs', 'manifests', 'tags', 'tmp']) await mkdir(join(dir, sub), { recursive: true });
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
    if (this.holds(id)) return true;
    this.packs.refresh();
    return this.packs.get(id) !== undefined;
  }

  /**
   * Whether a known pack or a chunk file holds `id`, without reading the pack indexes named since
   * (a pull's check per chunk, after readPacks: a chunk another writer packed meanwhile is then
   * fetched again, a duplicate at worst).
   */
  holds(id: string): boolean {
    return this.packs.get(id) !== undefined || statSync(this.chunkPath(id), { throwIfNoEntry: false }) !== undefined;
  }

  /** Reads the pack indexes named since this store last did. */
  readPacks(): void {
    this.packs.refresh();
  }

  /** Where a chunk's blob lies: in its pack, or its own file (undefined: not in the store). */
  locateChunk(id: string): { path: string; offset: number; length: number } | undefined {
    this.check(id);
    this.packs.refresh();
    const c = this.packs.get(id);
    if (c) return { path: packFilePath(this.location, c.pack, 'pack'), offset: c.offset, length: c.length };
    const st = statSync(this.chunkPath(id), { throwIfNoEntry: false });
    return st && { path: this.chunkPath(id), offset: 0, length: st.size };
  }

  async getChunk(id: string): Promise<Uint8Array> {
    this.check(id);
    const msg = notInStore(this.location, id);
    for (let fresh = false; ; fresh = true) {
      const packed = this.packs.get(id);
      try {
        const blob = await readChunkFile(packed ? packFilePath(this.location, packed.pack, 'pack') : this.chunkPath(id), msg, packed);
        return checkedBlob(blob, this.location, id);
      } catch (err) {
        // Not where this store last saw it: in a pack named (or repacked) since? (Another read
        // may have read the new indexes already: look again whatever this refresh finds.)
        if (fresh || !isNotFoundError(err)) throw withCorruptPacks(err, this.packs);
        this.packs.refresh();
      }
    }
  }

  /** Chunk ids its packs hold (the indexes named since read first): a build need not write these. */
  packedIds(): string[] {
    this.readPacks();
    return [...this.packs.entries()].map(([id]) => id);
  }

  /**
   * Names a pack a build's worker or a pull wrote in tmp/ (packs.ts PackWriter), whose blobs `entries` locate:
   * the pack goes to packs/ first, then its index, which makes its chunks visible. Returns the
   * bytes of both.
   */
  async addPack(tmp: string, entries: readonly PackEntry[]): Promise<number> {
    const index = encodePackIndex(entries);
    const name = blake3Hex(index);
    await mkdir(join(this.location, 'packs'), { recursive: true }); // a store made before packs
    await rename(tmp, packFilePath(this.location, name, 'pack'));
    await this.atomicWrite(packFilePath(this.location, name, 'idx'), index);
    this.packs.add(name, entries);
    return entries.reduce((n, e) => n + e.length, index.length);
  }

  /**
   * Writes beside a manifest the names of the packs that hold its chunks (`<digest>.packs`, a name
   * a line), for remotes that cannot list packs/: an HTTP store reads it with the manifest. None
   * when every chunk is a file of its own.
   */
  async putPackList(digest: string, chunks: Iterable<string>): Promise<void> {
    this.check(digest);
    const names = new Set<string>();
    for (const id of chunks) {
      const c = this.packs.get(id);
      if (c) names.add(c.pack);
    }
    if (names.size > 0) await this.atomicWrite(`${this.manifestPath(digest)}.packs`, [...names].sort().map((n) => `${n}\n`).join(''));
  }

  /** Every pack this store reads, with its whole index (gc: a chunk two packs hold is in both lists). */
  async listPacks(): Promise<Map<string, PackEntry[]>> {
    this.packs.refresh();
    const out = new Map<string, PackEntry[]>();
    for (const f of (await readdir(join(this.location, 'packs')).catch(() => [] as string[])).sort()) {
      const name = f.slice(0, -4);
      if (!f.endsWith('.idx') || !isDigestHex(name) || this.packs.corrupt.has(name)) continue;
      try {
        out.set(name, decodePackIndex(await readFile(packFilePath(this.location, name, 'idx')), `pack index ${name}`));
      } catch (err) {
        if (!isNotFound(err)) throw err; // removed since: nothing to list
      }
    }
    return out;
  }

  /** The pack readers take a chunk from (the first read of those that hold it). */
  packOf(id: string): string | undefined {
    return this.packs.get(id)?.pack;
  }

  /**
   * Makes every file written so far durable: the syncfs setTag runs first. A gc repack calls it
   * before the old pack goes, and a build while its workers still write, so that setTag's finds
   * little left.
   */
  sync(): Promise<void> {
    return this.syncFs(this.location);
  }

  /** Removes a pack (index first: its chunks are gone for readers before its blobs), if older than `olderThanMs`; its bytes, or 0. */
  async removePack(name: string, olderThanMs: number, now: number): Promise<number> {
    const index = packFilePath(this.location, name, 'idx');
    const st = await stat(index).catch(() => undefined);
    if (!st || now - st.mtimeMs < olderThanMs) return 0;
    const pack = packFilePath(this.location, name, 'pack');
    const size = (await stat(pack).catch(() => undefined))?.size ?? 0;
    await rm(index, { force: true });
    await rm(pack, { force: true });
    this.packs.refresh();
    return size + st.size;
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

  async setTag(name: string, digest: string): Promise<void> {
    this.check(digest);
    if (!isValidName(name)) throw new ImageError('BAD_REF', `bad tag name "${name}"`);
    await this.sync(); // the manifest and chunks it names reach the disk before the tag
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

  /** The chunks that are files of their own (packed ones: listPacks). */
  listChunkFiles(): AsyncIterable<string> {
    return listFanout(join(this.location, 'chunks'));
  }

  listManifests(): AsyncIterable<string> {
    return listFanout(join(this.location, 'manifests'));
  }

  /** Remove a chunk file or a manifest (with its pack list), if older than `olderThanMs` (protects in-flight builds). */
  async removeObject(kind: 'chunks' | 'manifests', id: string, olderThanMs: number, now: number): Promise<number> {
    const path = kind === 'chunks' ? this.chunkPath(id) : this.manifestPath(id);
    const st = await stat(path).catch(() => undefined);
    if (!st || now - st.mtimeMs < olderThanMs) return 0;
    if (kind === 'manifests') await rm(`${path}.packs`, { force: true });
    await rm(path, { force: true });
    return st.size;
  }

  /** Temp files left by crashed writers, and packs one named but died before their index. */
  async sweepTmp(olderThanMs: number, now: number): Promise<number> {
    const old = async (path: string) => {
      const st = await stat(path).catch(() => undefined);
      return st !== undefined && now - st.mtimeMs >= olderThanMs;
    };
    let n = 0;
    for (const f of await readdir(join(this.location, 'tmp'))) {
      if (await old(join(this.location, 'tmp', f))) {
        await rm(join(this.location, 'tmp', f), { force: true });
        n++;
      }
    }
    // A pack renamed into packs/ by a writer that died before its index: nothing names it.
    const packs = await readdir(join(this.location, 'packs')).catch(() => [] as string[]);
    for (const f of packs) {
      const path = join(this.location, 'packs', f);
      if (f.endsWith('.pack') && !packs.includes(`${f.slice(0, -5)}.idx`) && (await old(path))) {
        await rm(path, { force: true });
        n++;
      }
    }
    return n;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
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

async function* listFanout(dir: string): AsyncIterable<string> {
  for (const sub of (await readdir(dir)).sort()) {
    for (const f of (await readdir(join(dir, sub))).sort()) if (isDigestHex(f)) yield f;
  }
}
