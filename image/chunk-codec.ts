import { createCipheriv, createDecipheriv } from 'node:crypto';
import { asBuffer, blake3Hex, blake3Small, convergentKeyOf, initHash } from './hash.ts';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { ImageError } from './errors.ts';
import { zstdFrameBound } from './zstd-frame.ts';

/**
 * Chunk blob codec (SPEC.md §4). Pure apart from loading the native hasher and zstd once.
 * blob = 'Z' | 0x01 | flags | payload; flags bit0 = zstd, bit1 = convergent AES-256-GCM.
 * Chunk id = BLAKE3(blob), so stores can verify a blob without any key.
 *
 * zstd is native (@toondepauw/node-zstd: libzstd through Rust's zstd crate). Sealing is
 * asynchronous (zstd on libuv's thread pool, called from the build's worker threads); opening
 * comes synchronous and asynchronous, the async form on libuv's thread pool.
 */
const MAGIC = 0x5a;
const VERSION = 1;
const FLAG_ZSTD = 1;
const FLAG_ENC = 2;
const HEADER = 3;
const TAG = 16;
export const ZSTD_LEVEL = 3;
const NONCE_CONTEXT = 'zos-image 2025-01 convergent chunk nonce v1';
/** A frame that could decode to more than this (for its extent size) is refused before decoding. */
const maxDecoded = (size: number) => 4 * size + (1 << 20);

type Zstd = typeof import('@toondepauw/node-zstd');
let codec: { encoder: InstanceType<Zstd['Encoder']>; decoder: InstanceType<Zstd['Decoder']> } | undefined;
let ready: Promise<void> | undefined;

/** Load the native hasher and zstd once per process (idempotent); a process that never opens a chunk never maps them. */
export function initChunkCodec(): Promise<void> {
  ready ??= Promise.all([
    initHash(),
    import('@toondepauw/node-zstd').then((m) => {
      const z = (m as { default?: Zstd }).default ?? m;
      codec = { encoder: new z.Encoder(ZSTD_LEVEL), decoder: new z.Decoder() };
    }),
  ]).then(() => undefined);
  return ready;
}

function zstd(): NonNullable<typeof codec> {
  if (!codec) throw new ImageError('HOST', 'zstd used before initChunkCodec() resolved');
  return codec;
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
  return blake3Small(key, NONCE_CONTEXT).subarray(0, 12);
}

/**
 * zstd on libuv's thread pool: the builds' workers seal with it. There is no synchronous twin:
 * like its decodeSync (see openChunk), @toondepauw/node-zstd 2.0.0's encodeSync never frees its
 * output (~67 KiB of RSS a call for an incompressible 64 KiB chunk: 4 000 calls took a process
 * from 49 to 281 MB, the async encode from 50 to 65 MB).
 */
export async function sealChunkAsync(plain: Uint8Array, opts: { encrypt: boolean }): Promise<SealedChunk> {
  return sealed(plain, plain.length > 0 ? await zstd().encoder.encode(asBuffer(plain)) : null, opts.encrypt);
}

/** The blob around a plaintext and its zstd frame (kept only if smaller). */
function sealed(plain: Uint8Array, z: Uint8Array | null, encrypt: boolean): SealedChunk {
  let flags = 0;
  let payload: Uint8Array = plain;
  if (z && z.length < plain.length) {
    payload = z;
    flags |= FLAG_ZSTD;
  }
  let key: Uint8Array | undefined;
  if (encrypt) {
    flags |= FLAG_ENC;
    key = convergentKey(plain);
    const header = Uint8Array.of(MAGIC, VERSION, flags);
    const c = createCipheriv('aes-256-gcm', key, nonceFor(key));
    c.setAAD(header);
    payload = Buffer.concat([c.update(payload), c.final(), c.getAuthTag()]);
  }
  const blob = Buffer.allocUnsafe(HEADER + payload.length);
  blob.set([MAGIC, VERSION, flags], 0);
  blob.set(payload, HEADER);
  return { id: blake3Hex(blob), blob, ...(key ? { key: bytesToHex(key) } : {}) };
}

/** Checks only the digest: what a store can do without keys. */
export function blobMatchesId(blob: Uint8Array, id: string): boolean {
  return blake3Hex(blob) === id;
}

type ChunkRef = { id: string; size: number; key?: string };

const corrupt = (ref: ChunkRef, why: string, cause?: unknown) =>
  new ImageError('CHUNK_CORRUPT', `chunk ${ref.id}: ${why}`, cause === undefined ? undefined : { cause });

/**
 * Verify and decode a blob against its manifest reference. For one blob now and then only: the
 * synchronous decoder of @toondepauw/node-zstd 2.0.0 never frees its output (~128 KiB a call,
 * test/image/zstd), so bulk work uses openChunkAsync. Throws CHUNK_CORRUPT naming the chunk
 * on any mismatch (digest, header, decryption, length, convergent key). `digestChecked` skips
 * re-hashing a blob that a store has just verified.
 */
export function openChunk(blob: Uint8Array, ref: ChunkRef, opts: { digestChecked?: boolean } = {}): Uint8Array {
  const p = unwrap(blob, ref, opts);
  return opened(p.zstd ? decoded(ref, () => zstd().decoder.decodeSync(asBuffer(p.payload))) : p.payload, ref);
}

/** openChunk with zstd on the thread pool. */
export async function openChunkAsync(blob: Uint8Array, ref: ChunkRef, opts: { digestChecked?: boolean } = {}): Promise<Uint8Array> {
  const p = unwrap(blob, ref, opts);
  if (!p.zstd) return opened(p.payload, ref);
  let plain: Uint8Array;
  try {
    plain = await zstd().decoder.decode(asBuffer(p.payload));
  } catch (err) {
    throw corrupt(ref, 'zstd decompression failed', err);
  }
  return opened(plain, ref);
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
    const key = hexToBytes(ref.key);
    if (payload.length < TAG) throw corrupt(ref, 'ciphertext too short');
    try {
      const d = createDecipheriv('aes-256-gcm', key, nonceFor(key));
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

function decoded(ref: ChunkRef, decode: () => Uint8Array): Uint8Array {
  try {
    return decode();
  } catch (err) {
    throw corrupt(ref, 'zstd decompression failed', err);
  }
}

/** The decoded length and, for encrypted chunks, the convergent key. */
function opened(plain: Uint8Array, ref: ChunkRef): Uint8Array {
  if (plain.length !== ref.size) throw corrupt(ref, `decoded ${plain.length} bytes, manifest says ${ref.size}`);
  if (ref.key && bytesToHex(convergentKey(plain)) !== ref.key) throw corrupt(ref, 'plaintext does not match its convergent key');
  return plain;
}
