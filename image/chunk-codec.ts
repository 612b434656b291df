import { createCipheriv, createDecipheriv } from 'node:crypto';
import { init as zstdInit, compress, decompress } from '@bokuweb/zstd-wasm';
import { blake3Hex, blake3Small, convergentKeyOf, initHash } from './hash.ts';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { ImageError } from './errors.ts';

/**
 * Chunk blob codec (SPEC.md §4). Pure apart from the one-time zstd wasm init.
 * blob = 'Z' | 0x01 | flags | payload; flags bit0 = zstd, bit1 = convergent AES-256-GCM.
 * Chunk id = BLAKE3(blob), so stores can verify a blob without any key.
 */
const MAGIC = 0x5a;
const VERSION = 1;
const FLAG_ZSTD = 1;
const FLAG_ENC = 2;
const HEADER = 3;
const TAG = 16;
export const ZSTD_LEVEL = 3;
const NONCE_CONTEXT = 'zos-image 2025-01 convergent chunk nonce v1';

let ready: Promise<void> | undefined;
/** Load the zstd and BLAKE3 wasm modules once per process. */
export function initChunkCodec(): Promise<void> {
  ready ??= Promise.all([zstdInit(), initHash()]).then(() => undefined);
  return ready;
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

export function sealChunk(plain: Uint8Array, opts: { encrypt: boolean; level?: number }): SealedChunk {
  let flags = 0;
  let payload: Uint8Array = plain;
  if (plain.length > 0) {
    const z = compress(plain, opts.level ?? ZSTD_LEVEL);
    if (z.length < plain.length) {
      payload = z;
      flags |= FLAG_ZSTD;
    }
  }
  let key: Uint8Array | undefined;
  if (opts.encrypt) {
    flags |= FLAG_ENC;
    key = convergentKey(plain);
    const header = Uint8Array.of(MAGIC, VERSION, flags);
    const c = createCipheriv('aes-256-gcm', key, nonceFor(key));
    c.setAAD(header);
    payload = Buffer.concat([c.update(payload), c.final(), c.getAuthTag()]);
  }
  const blob = new Uint8Array(HEADER + payload.length);
  blob.set([MAGIC, VERSION, flags], 0);
  blob.set(payload, HEADER);
  return { id: blake3Hex(blob), blob, ...(key ? { key: bytesToHex(key) } : {}) };
}

/** Checks only the digest: what a store can do without keys. */
export function blobMatchesId(blob: Uint8Array, id: string): boolean {
  return blake3Hex(blob) === id;
}

/**
 * Verify and decode a blob against its manifest reference. Throws CHUNK_CORRUPT naming the chunk
 * on any mismatch (digest, header, decryption, length, convergent key). `digestChecked` skips
 * re-hashing a blob that a store has just verified.
 */
export function openChunk(blob: Uint8Array, ref: { id: string; size: number; key?: string }, opts: { digestChecked?: boolean } = {}): Uint8Array {
  const bad = (why: string, cause?: unknown) =>
    new ImageError('CHUNK_CORRUPT', `chunk ${ref.id}: ${why}`, cause === undefined ? undefined : { cause });
  if (!opts.digestChecked && !blobMatchesId(blob, ref.id)) throw bad('content does not match its digest');
  if (blob.length < HEADER || blob[0] !== MAGIC || blob[1] !== VERSION) throw bad('unknown blob header');
  const flags = blob[2]!;
  if (flags & ~(FLAG_ZSTD | FLAG_ENC)) throw bad(`unknown flags ${flags}`);
  let payload: Uint8Array = blob.subarray(HEADER);
  if (flags & FLAG_ENC) {
    if (!ref.key) throw bad('encrypted but the manifest has no key');
    const key = hexToBytes(ref.key);
    if (payload.length < TAG) throw bad('ciphertext too short');
    try {
      const d = createDecipheriv('aes-256-gcm', key, nonceFor(key));
      d.setAAD(blob.subarray(0, HEADER));
      d.setAuthTag(payload.subarray(payload.length - TAG));
      payload = Buffer.concat([d.update(payload.subarray(0, payload.length - TAG)), d.final()]);
    } catch (err) {
      throw bad('decryption failed', err);
    }
  } else if (ref.key) {
    throw bad('manifest expects an encrypted chunk');
  }
  let plain: Uint8Array = payload;
  if (flags & FLAG_ZSTD) {
    try {
      plain = decompress(payload);
    } catch (err) {
      throw bad('zstd decompression failed', err);
    }
  }
  if (plain.length !== ref.size) throw bad(`decoded ${plain.length} bytes, manifest says ${ref.size}`);
  if (ref.key && bytesToHex(convergentKey(plain)) !== ref.key) throw bad('plaintext does not match its convergent key');
  return plain;
}
