import { ImageError } from '../errors.ts';
import { blake3Hex, initHash, isDigestHex } from '../hash.ts';
import { isValidName } from '../ref.ts';
import { maxBlobSize, type ImageStore } from './types.ts';

const MAX_MANIFEST = 256 * 1024 * 1024;
const MAX_CHUNK_BLOB = maxBlobSize(16 * 1024 * 1024);

/**
 * Read-only store over http(s) GET, same paths as DirStore (a DirStore served by any static web
 * server is a remote). Every chunk and manifest is checked against its digest before it is returned.
 */
export class HttpStore implements ImageStore {
  readonly writable = false;
  private readonly base: string;
  private readonly abort = new AbortController();

  constructor(
    readonly location: string,
    private readonly opts: { timeoutMs?: number } = {},
  ) {
    const u = new URL(location);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ImageError('BAD_INPUT', `not an http(s) store URL: ${location}`);
    this.base = location.endsWith('/') ? location : `${location}/`;
  }

  private async get(path: string, limit: number, what: string): Promise<Uint8Array | undefined> {
    if (this.abort.signal.aborted) throw new ImageError('ERR_CLOSED', `store ${this.location} is closed`);
    await initHash();
    const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.opts.timeoutMs ?? 60_000)]);
    let res: Response | undefined;
    // A GET is safe to repeat: a connection the server closed as it was reused (keep-alive race,
    // seen from slow guests) or reset is tried again, twice, before the read fails.
    for (let attempt = 1; !res; attempt++) {
      try {
        res = await fetch(new URL(path, this.base), { signal, redirect: 'follow' });
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
    const blob = await this.get(`chunks/${id.slice(0, 2)}/${id}`, MAX_CHUNK_BLOB, `chunk ${id}`);
    if (!blob) throw new ImageError('NOT_FOUND', `chunk ${id} not in store ${this.location}`);
    if (blake3Hex(blob) !== id) throw new ImageError('CHUNK_CORRUPT', `chunk ${id} from ${this.location}: content does not match its digest`);
    return blob;
  }

  async putChunk(): Promise<boolean> {
    throw new ImageError('READ_ONLY', `store ${this.location} is read-only (http)`);
  }

  hasManifest(digest: string): Promise<boolean> {
    return found(this.getManifest(digest));
  }

  async getManifest(digest: string): Promise<Uint8Array> {
    if (!isDigestHex(digest)) throw new ImageError('BAD_REF', `bad manifest digest "${digest}"`);
    const bytes = await this.get(`manifests/${digest.slice(0, 2)}/${digest}`, MAX_MANIFEST, `manifest blake3:${digest}`);
    if (!bytes) throw new ImageError('NOT_FOUND', `manifest blake3:${digest} not in store ${this.location}`);
    if (blake3Hex(bytes) !== digest) throw new ImageError('MANIFEST_CORRUPT', `manifest blake3:${digest} from ${this.location}: content does not match its digest`);
    return bytes;
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
