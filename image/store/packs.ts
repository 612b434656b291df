import { closeSync, openSync, readFileSync, readSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { ImageError, isNotFound } from '../errors.ts';
import { blake3Hex, isDigestHex } from '../hash.ts';
import { tmpFilePath } from './chunk-files.ts';

/**
 * A directory store's chunk packs (SPEC.md §5): a build appends its new chunks to one pack per
 * worker thread instead of making one file per chunk. A new inode per chunk (~16 per MiB) was
 * most of a build's kernel time, and on an ext4 that had just freed many inodes up to ~0.6 ms a
 * file; appending costs a write.
 *   packs/<p>.pack   blobs end to end
 *   packs/<p>.idx    INDEX_MAGIC, then per blob, sorted by id: id (32 bytes), offset (u64 LE), length (u32 LE)
 * p is the BLAKE3 of the .idx bytes, so a reader checks an index it fetched against its name; each
 * blob read from a pack is still checked against its id. Packs are immutable once named.
 * Module of its own, apart from DirStore: the build's worker threads load it (and only it).
 */
export const INDEX_MAGIC = 'zos-pack v1\n';
const ENTRY = 44;

export interface PackEntry {
  id: string;
  offset: number;
  length: number;
}

/** Where a packed chunk lies. */
export interface PackedChunk {
  pack: string;
  offset: number;
  length: number;
}

export function packFilePath(location: string, pack: string, ext: 'pack' | 'idx'): string {
  return `${location}/packs/${pack}.${ext}`;
}

/** A pack's index bytes (entries in any order; sorted here, so the same pack always has the same index). */
export function encodePackIndex(entries: readonly PackEntry[]): Buffer {
  const sorted = [...entries].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const magic = Buffer.from(INDEX_MAGIC);
  const out = Buffer.alloc(magic.length + sorted.length * ENTRY);
  magic.copy(out);
  let at = magic.length;
  for (const e of sorted) {
    out.write(e.id, at, 'hex');
    out.writeBigUInt64LE(BigInt(e.offset), at + 32);
    out.writeUInt32LE(e.length, at + 40);
    at += ENTRY;
  }
  return out;
}

/** An index's entries; STORE_IO naming `what` when the bytes are not an index. */
export function decodePackIndex(bytes: Uint8Array, what: string): PackEntry[] {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const head = INDEX_MAGIC.length;
  if (b.length < head || b.toString('latin1', 0, head) !== INDEX_MAGIC || (b.length - head) % ENTRY !== 0) {
    throw new ImageError('STORE_IO', `${what} is not a pack index`);
  }
  const out: PackEntry[] = [];
  for (let at = head; at < b.length; at += ENTRY) {
    out.push({ id: b.toString('hex', at, at + 32), offset: Number(b.readBigUInt64LE(at + 32)), length: b.readUInt32LE(at + 40) });
  }
  return out;
}

/**
 * The packs of one directory store, as far as this thread has read their indexes: DirStore on the
 * main thread and the readers on worker threads each keep one. `refresh` reads the indexes named
 * since (packs are only ever added or, by gc, removed whole): readers call it when a chunk is
 * neither in a known pack nor a loose file, which is rare enough that it costs nothing to others.
 */
export class PackSet {
  private readonly byId = new Map<string, PackedChunk>();
  private readonly loaded = new Set<string>();
  /** Indexes that did not match their name or did not decode, with why: their chunks are not found, and the message says so. */
  readonly corrupt = new Map<string, string>();

  constructor(readonly location: string) {}

  get(id: string): PackedChunk | undefined {
    return this.byId.get(id);
  }

  /** Every packed chunk id known, with its pack. */
  entries(): IterableIterator<[string, PackedChunk]> {
    return this.byId.entries();
  }

  /** Reads the indexes not read yet, and forgets the packs gone. */
  refresh(): void {
    let names: string[];
    try {
      names = readdirSync(`${this.location}/packs`);
    } catch (err) {
      if (isNotFound(err)) return; // a store made before packs: none yet
      throw err;
    }
    const present = new Set(names.filter((n) => n.endsWith('.idx')).map((n) => n.slice(0, -4)));
    if ([...this.loaded].some((p) => !present.has(p))) {
      // A pack went (gc, a repack): read every index again, so a chunk another pack also holds stays found.
      this.byId.clear();
      this.loaded.clear();
    }
    for (const p of present) {
      if (this.loaded.has(p) || this.corrupt.has(p) || !isDigestHex(p)) continue;
      let bytes: Buffer;
      try {
        bytes = readFileSync(packFilePath(this.location, p, 'idx'));
      } catch (err) {
        if (isNotFound(err)) continue; // removed since the readdir
        throw err;
      }
      const what = `pack index ${p} in store ${this.location}`;
      try {
        if (blake3Hex(bytes) !== p) throw new ImageError('STORE_IO', `${what}: content does not match its name`);
        this.add(p, decodePackIndex(bytes, what));
      } catch (err) {
        this.corrupt.set(p, (err as Error).message);
      }
    }
  }

  /** A pack this thread just named (no index read back). */
  add(pack: string, entries: readonly PackEntry[]): void {
    this.loaded.add(pack);
    for (const e of entries) if (!this.byId.has(e.id)) this.byId.set(e.id, { pack, offset: e.offset, length: e.length });
  }
}

/** One packed blob, read into `into` when it fits (the result is then a view of it): open, one read, close. */
export function readPackedSync(location: string, c: PackedChunk, into?: Buffer): Buffer {
  const fd = openSync(packFilePath(location, c.pack, 'pack'), 'r');
  try {
    const buf = into && into.length >= c.length ? into.subarray(0, c.length) : Buffer.allocUnsafe(c.length);
    let got = 0;
    for (let n = -1; got < c.length && n !== 0; got += n) n = readSync(fd, buf, got, c.length - got, c.offset + got);
    if (got < c.length) throw new Error(`pack ${c.pack} ends inside the blob at ${c.offset}`);
    return buf;
  } finally {
    closeSync(fd);
  }
}

/**
 * A pack being written (a file in the store's tmp/, made at the first blob) by a build worker
 * during one job, a pull or a gc repack; once closed, DirStore.addPack names it with its entries.
 * Written without fsync: the syncfs before a tag (or, for a repack, before the old pack goes)
 * covers it.
 */
export class PackWriter {
  private fd: number | undefined;
  /** Its file in tmp/ (undefined until the first blob). */
  path: string | undefined;
  /** Where each blob went, in the order appended. */
  readonly entries: PackEntry[] = [];
  private size = 0;

  constructor(private readonly location: string) {}

  /** Appends blob `id`; its offset in the pack. */
  append(id: string, blob: Uint8Array): number {
    if (this.fd === undefined) {
      this.path = tmpFilePath(this.location);
      this.fd = openSync(this.path, 'wx');
    }
    const offset = this.size;
    for (let done = 0; done < blob.length; ) done += writeSync(this.fd, blob, done, blob.length - done, offset + done);
    this.size += blob.length;
    this.entries.push({ id, offset, length: blob.length });
    return offset;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** Closes it and removes its file, for a writer that failed (none once it was named). */
  discard(): void {
    this.close();
    if (this.path) rmSync(this.path, { force: true });
  }
}
