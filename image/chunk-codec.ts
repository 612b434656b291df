import { asBuffer, blake3Hex, blake3Bytes, convergentKeyOf, initHash, isDigestHex } from './hash.ts';
import { ImageError } from './errors.ts';
import { zstdFrameBound } from './zstd-frame.ts';

/**
 * Chunk blob codec (SPEC.md §4). Pure apart from loading the native hasher and zstd once.
 * blob = 'Z' | 0x01 | flags | payload; flags bit0 = zstd, bit1 = convergent AES-256-GCM.
 * Chunk id = BLAKE3(blob), so stores can verify a blob without any key.
 *
 * zstd is libzstd through zstd-napi's thin binding: one compression and one decompression
 * context per thread (module state: each worker thread has its own), reused for every chunk, and
 * synchronous calls. A 64 KiB chunk compresses in about 0.15 ms (level 2) and decodes in a few
 * tens of µs; the build and file workers, which have nothing else to do, call it on their own
 * thread rather than hop to libuv's pool. Frames are one-shot and declare their content size, so
 * a decode goes straight into a buffer of the extent's size.
 */
const MAGIC = 0x5a;
const VERSION = 1;
const FLAG_ZSTD = 1;
const FLAG_ENC = 2;
const HEADER = 3;
const TAG = 16;
/**
 * Level 2, not zstd's default 3: on a build's chunks (138 MiB of /usr/lib, 64 KiB-average chunks)
 * level 2 compresses ~20% faster and stores ~1.2% more (2.475x against 2.506x; level 1 is ~30%
 * faster but stores ~4% more). zstd is over half of a build's CPU, so this is the largest single
 * step towards builds at sha256sum's speed (issue 16); decoding costs the same at either level.
 */
export const ZSTD_LEVEL = 2;
const NONCE_CONTEXT = 'zos-image 2025-01 convergent chunk nonce v1';
/** A frame that could decode to more than this (for its extent size) is refused before decoding. */
const maxDecoded = (size: number) => 4 * size + (1 << 20);

/**
 * node:crypto (AES-GCM), loaded at the first encrypted chunk: importing it costs every build
 * and file worker ~3 ms of its start, and most images are not encrypted.
 */
const crypto = (): typeof import('node:crypto') => process.getBuiltinModule('node:crypto');

type Binding = typeof import('zstd-napi/binding.js');
let zstdApi: { binding: Binding; cctx: InstanceType<Binding['CCtx']>; dctx: InstanceType<Binding['DCtx']> } | undefined;
let ready: Promise<void> | undefined;
/** Where a frame is compressed before it is copied into its blob (grows to the largest chunk's bound). */
let scratch = Buffer.alloc(0);

/** Load the native hasher and zstd once per thread (idempotent); a process that never opens a chunk never maps them. */
export function initChunkCodec(): Promise<void> {
  ready ??= Promise.all([
    initHash(),
    import('zstd-napi/binding.js').then((m) => {
      const binding = ((m as { default?: Binding }).default ?? m) as Binding;
      const cctx = new binding.CCtx();
      cctx.setParameter(binding.CParameter.compressionLevel, ZSTD_LEVEL);
      zstdApi = { binding, cctx, dctx: new binding.DCtx() };
    }),
  ]).then(() => undefined);
  return ready;
}

function zstd(): NonNullable<typeof zstdApi> {
  if (!zstdApi) throw new ImageError('HOST', 'zstd used before initChunkCodec() resolved');
  return zstdApi;
}

export interface SealedChunk {
  id: string;
  blob: Uint8Array;
  /** Hex convergent key, present only when encrypted. */
  key?: string;
}

export function convergentKey(plain: Uint8Array): Uint8Array {
  return convergentKeyOf(plain);
}

function nonceFor(key: Uint8Array): Uint8Array {
  return blake3Bytes(key, NONCE_CONTEXT).subarray(0, 12);
}

/**
 * Compress (zstd at ZSTD_LEVEL, kept only if smaller), encrypt if asked, and name a chunk.
 * Synchronous: the builds' worker threads call it for every chunk. `transient`: an unencrypted blob is a view
 * of this thread's scratch buffer, valid only until the next seal, for a caller that writes it at
 * once (no allocation and copy per chunk).
 */
export function sealChunk(plain: Uint8Array, opts: { encrypt: boolean; transient?: boolean }): SealedChunk {
  let flags = 0;
  let payload: Uint8Array = plain;
  const z = zstd();
  const bound = HEADER + z.binding.compressBound(plain.length);
  if (scratch.length < bound) scratch = Buffer.allocUnsafe(bound);
  if (plain.length > 0) {
    const n = z.cctx.compress2(scratch.subarray(HEADER), plain);
    if (n < plain.length) {
      payload = scratch.subarray(HEADER, HEADER + n);
      flags |= FLAG_ZSTD;
    }
  }
  let key: Uint8Array | undefined;
  if (opts.encrypt) {
    flags |= FLAG_ENC;
    key = convergentKey(plain);
    const header = Uint8Array.of(MAGIC, VERSION, flags);
    const c = crypto().createCipheriv('aes-256-gcm', key, nonceFor(key));
    c.setAAD(header);
    payload = Buffer.concat([c.update(payload), c.final(), c.getAuthTag()]);
  }
  let blob: Buffer;
  if (opts.transient && !key) {
    if (payload === plain) scratch.set(plain, HEADER); // a zstd payload is already there
    blob = scratch.subarray(0, HEADER + payload.length);
  } else {
    blob = Buffer.allocUnsafe(HEADER + payload.length);
    blob.set(payload, HEADER);
  }
  blob[0] = MAGIC;
  blob[1] = VERSION;
  blob[2] = flags;
  return { id: blake3Hex(blob), blob, ...(key ? { key: asBuffer(key).toString('hex') } : {}) };
}

/** Checks only the digest: what a store can do without keys. */
export function blobMatchesId(blob: Uint8Array, id: string): boolean {
  return blake3Hex(blob) === id;
}

type ChunkRef = { id: string; size: number; key?: string };

const corrupt = (ref: ChunkRef, why: string, cause?: unknown) =>
  new ImageError('CHUNK_CORRUPT', `chunk ${ref.id}: ${why}`, cause === undefined ? undefined : { cause });

/**
 * Verify and decode a blob against its manifest reference. Throws CHUNK_CORRUPT naming the chunk
 * on any mismatch (digest, header, decryption, length, convergent key). `digestChecked` skips
 * re-hashing a blob that a store has just verified, or whose plaintext the caller proves by the
 * file's BLAKE3 (materialize, SPEC.md §4). A zstd chunk is decoded into `into` when
 * given (exactly `ref.size` bytes: a caller's reused buffer), else into a new buffer of that size;
 * a stored (uncompressed, unencrypted) chunk comes back as a view of its blob.
 */
export function openChunk(blob: Uint8Array, ref: ChunkRef, opts: { digestChecked?: boolean; into?: Uint8Array } = {}): Uint8Array {
  const p = unwrap(blob, ref, opts);
  if (!p.zstd) return opened(p.payload, ref);
  const dst = opts.into ?? Buffer.allocUnsafe(ref.size);
  if (dst.length !== ref.size) throw new ImageError('HOST', `decode buffer of ${dst.length} bytes for a ${ref.size}-byte chunk`);
  let n: number;
  try {
    n = zstd().dctx.decompress(dst, p.payload);
  } catch (err) {
    throw corrupt(ref, 'zstd decompression failed', err);
  }
  return opened(dst.subarray(0, n), ref);
}

/** Digest, header, GCM tag, and for zstd a frame that cannot decode past the extent's size. */
function unwrap(blob: Uint8Array, ref: ChunkRef, opts: { digestChecked?: boolean }): { payload: Uint8Array; zstd: boolean } {
  if (!opts.digestChecked && !blobMatchesId(blob, ref.id)) throw corrupt(ref, 'content does not match its digest');
  if (blob.length < HEADER || blob[0] !== MAGIC || blob[1] !== VERSION) throw corrupt(ref, 'unknown blob header');
  const flags = blob[2]!;
  if (flags & ~(FLAG_ZSTD | FLAG_ENC)) throw corrupt(ref, `unknown flags ${flags}`);
  let payload: Uint8Array = blob.subarray(HEADER);
  if (flags & FLAG_ENC) {
    if (!ref.key) throw corrupt(ref, 'encrypted but the manifest has no key');
    if (!isDigestHex(ref.key)) throw corrupt(ref, 'the manifest\'s key is not 64 hex digits');
    const key = Buffer.from(ref.key, 'hex');
    if (payload.length < TAG) throw corrupt(ref, 'ciphertext too short');
    try {
      const d = crypto().createDecipheriv('aes-256-gcm', key, nonceFor(key));
      d.setAAD(blob.subarray(0, HEADER));
      d.setAuthTag(payload.subarray(payload.length - TAG));
      payload = Buffer.concat([d.update(payload.subarray(0, payload.length - TAG)), d.final()]);
    } catch (err) {
      throw corrupt(ref, 'decryption failed', err);
    }
  } else if (ref.key) {
    throw corrupt(ref, 'manifest expects an encrypted chunk');
  }
  const zstd = (flags & FLAG_ZSTD) !== 0;
  if (zstd) {
    const f = zstdFrameBound(payload);
    if (typeof f === 'string') throw corrupt(ref, `zstd decompression failed: ${f}`);
    if (f.contentSize !== undefined && f.contentSize !== ref.size) throw corrupt(ref, `decoded ${f.contentSize} bytes, manifest says ${ref.size}`);
    if (f.bound < ref.size || f.bound > maxDecoded(ref.size)) throw corrupt(ref, `zstd frame decodes to at most ${f.bound} bytes, manifest says ${ref.size}`);
  }
  return { payload, zstd };
}

/** The decoded length and, for encrypted chunks, the convergent key. */
function opened(plain: Uint8Array, ref: ChunkRef): Uint8Array {
  if (plain.length !== ref.size) throw corrupt(ref, `decoded ${plain.length} bytes, manifest says ${ref.size}`);
  if (ref.key && asBuffer(convergentKey(plain)).toString('hex') !== ref.key) throw corrupt(ref, 'plaintext does not match its convergent key');
  return plain;
}
