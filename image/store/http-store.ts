import { ImageError } from '../errors.ts';
import { blake3Hex, initHash, isDigestHex } from '../hash.ts';
import { isValidName } from '../ref.ts';
import { decodePackIndex, type PackedChunk } from './packs.ts';
import { maxBlobSize, type ImageStore } from './types.ts';

const MAX_MANIFEST = 256 * 1024 * 1024;
const MAX_CHUNK_BLOB = maxBlobSize(16 * 1024 * 1024);
/** A pack list names a manifest's packs (65 bytes each); an index is 44 bytes a chunk. */
const MAX_PACK_LIST = 1024 * 1024;
const MAX_PACK_INDEX = 64 * 1024 * 1024;

/**
 * Read-only store over http(s) GET, same paths as DirStore (a DirStore served by any static web
 * server is a remote). Every chunk and manifest is checked against its digest before it is returned.
 * Packed chunks (SPEC.md §5) are found through the pack list beside each manifest read, and read
 * with a Range request (which static servers honour).
 */
export class HttpStore implements ImageStore {
  readonly writable = false;
  private readonly base: string;
  private readonly abort = new AbortController();
  /** Chunks in the packs the manifests read so far name. */
  private readonly packed = new Map<string, PackedChunk>();
  private readonly packsRead = new Set<string>();

  constructor(
    readonly location: string,
    private readonly opts: { timeoutMs?: number } = {},
  ) {
    const u = new URL(location);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ImageError('BAD_INPUT', `not an http(s) store URL: ${location}`);
    this.base = location.endsWith('/') ? location : `${location}/`;
  }

  /** The file at `path` (undefined when the server has none), or with `range` that part of it. */
  private async get(path: string, limit: number, what: string, range?: PackedChunk): Promise<Uint8Array | undefined> {
    if (this.abort.signal.aborted) throw new ImageError('ERR_CLOSED', `store ${this.location} is closed`);
    await initHash();
    const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.opts.timeoutMs ?? 60_000)]);
    let res: Response | undefined;
    // A GET is safe to repeat: a connection the server closed as it was reused (keep-alive race,
    // seen from slow guests) or reset is tried again, twice, before the read fails.
    for (let attempt = 1; !res; attempt++) {
      try {
        const headers = range ? { range: `bytes=${range.offset}-${range.offset + range.length - 1}` } : undefined;
        res = await fetch(new URL(path, this.base), { signal, redirect: 'follow', headers });
      } catch (err) {
        if (attempt < 3 && !signal.aborted) continue;
        const cause = (err as Error).cause as Error | undefined;
        throw new ImageError('STORE_IO', `${what} from ${this.location}: ${(err as Error).message}${cause?.message ? ` (${cause.message})` : ''}`, { cause: err });
      }
    }
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new ImageError('STORE_IO', `${what} from ${this.location}: HTTP ${res.status}`);
    }
    if (range && res.status !== 206) {
      await res.body?.cancel();
      throw new ImageError('STORE_IO', `${what} from ${this.location}: the server ignored a Range request (HTTP ${res.status}); packed chunks need one that honours Range`);
    }
    const declared = Number(res.headers.get('content-length') ?? '0');
    if (declared > limit) {
      await res.body?.cancel();
      throw new ImageError('STORE_IO', `${what} from ${this.location}: ${declared} bytes exceeds the limit ${limit}`);
    }
    const body = new Uint8Array(await res.arrayBuffer());
    if (body.length > limit) throw new ImageError('STORE_IO', `${what} from ${this.location}: body exceeds the limit ${limit}`);
    return body;
  }

  hasChunk(id: string): Promise<boolean> {
    return found(this.getChunk(id));
  }

  async getChunk(id: string): Promise<Uint8Array> {
    if (!isDigestHex(id)) throw new ImageError('BAD_REF', `bad chunk id "${id}"`);
    const c = this.packed.get(id);
    const blob = c ? await this.get(`packs/${c.pack}.pack`, c.length, `chunk ${id}`, c) : await this.get(`chunks/${id.slice(0, 2)}/${id}`, MAX_CHUNK_BLOB, `chunk ${id}`);
    if (!blob) throw new ImageError('NOT_FOUND', `chunk ${id} not in store ${this.location}`);
    if (blake3Hex(blob) !== id) throw new ImageError('CHUNK_CORRUPT', `chunk ${id} from ${this.location}: content does not match its digest`);
    return blob;
  }

  hasManifest(digest: string): Promise<boolean> {
    return found(this.getManifest(digest));
  }

  async getManifest(digest: string): Promise<Uint8Array> {
    if (!isDigestHex(digest)) throw new ImageError('BAD_REF', `bad manifest digest "${digest}"`);
    const bytes = await this.get(`manifests/${digest.slice(0, 2)}/${digest}`, MAX_MANIFEST, `manifest blake3:${digest}`);
    if (!bytes) throw new ImageError('NOT_FOUND', `manifest blake3:${digest} not in store ${this.location}`);
    if (blake3Hex(bytes) !== digest) throw new ImageError('MANIFEST_CORRUPT', `manifest blake3:${digest} from ${this.location}: content does not match its digest`);
    await this.readPackList(digest);
    return bytes;
  }

  /** The packs named beside a manifest (none: its chunks are files of their own), each index checked against its name. */
  private async readPackList(digest: string): Promise<void> {
    const list = await this.get(`manifests/${digest.slice(0, 2)}/${digest}.packs`, MAX_PACK_LIST, `pack list of manifest blake3:${digest}`);
    if (!list) return;
    for (const name of Buffer.from(list).toString('utf8').split('\n').filter(Boolean)) {
      if (!isDigestHex(name)) throw new ImageError('STORE_IO', `pack list of manifest blake3:${digest} from ${this.location} is corrupt`);
      if (this.packsRead.has(name)) continue;
      const what = `pack index ${name} from ${this.location}`;
      const index = await this.get(`packs/${name}.idx`, MAX_PACK_INDEX, what);
      if (!index) throw new ImageError('NOT_FOUND', `pack index ${name}, named by manifest blake3:${digest}, not in store ${this.location}`);
      if (blake3Hex(index) !== name) throw new ImageError('STORE_IO', `${what}: content does not match its name`);
      for (const e of decodePackIndex(index, what)) if (!this.packed.has(e.id)) this.packed.set(e.id, { pack: name, offset: e.offset, length: e.length });
      this.packsRead.add(name);
    }
  }

  async putManifest(): Promise<string> {
    throw new ImageError('READ_ONLY', `store ${this.location} is read-only (http)`);
  }

  async getTag(name: string): Promise<string | undefined> {
    if (!isValidName(name)) throw new ImageError('BAD_REF', `bad tag name "${name}"`);
    const body = await this.get(`tags/${encodeURIComponent(encodeURIComponent(name))}`, 1024, `tag ${name}`);
    if (!body) return undefined;
    const m = /^blake3:([0-9a-f]{64})\n?$/.exec(Buffer.from(body).toString('utf8'));
    if (!m) throw new ImageError('STORE_IO', `tag "${name}" from ${this.location} is corrupt`);
    return m[1]!;
  }

  async setTag(): Promise<void> {
    throw new ImageError('READ_ONLY', `store ${this.location} is read-only (http)`);
  }

  async close(): Promise<void> {
    this.abort.abort();
  }
}

/** GET is the only verb a static server surely has: "has" fetches and verifies the object. */
async function found(get: Promise<unknown>): Promise<boolean> {
  try {
    await get;
    return true;
  } catch (err) {
    if (err instanceof ImageError && err.code === 'NOT_FOUND') return false;
    throw err;
  }
}
