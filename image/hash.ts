import { createRequire } from 'node:module';
import { ImageError } from './errors.ts';

/**
 * BLAKE3, the one digest of format v1. Bulk hashing is native (@napi-rs/blake-hash: the BLAKE3
 * team's Rust crate with SIMD picked at run time, 10-15x hash-wasm on a 64 KiB chunk here);
 * test/image/codec.test.ts cross-checks it with the pure-JS @noble/hashes. Each streaming hasher
 * holds its own state, so interleaved async callers cannot mix them. Every digest here is native,
 * small ones too: loading @noble/hashes' BLAKE3 cost every build worker ~10 ms at start.
 */
export const DIGEST_HEX_LEN = 64;
const HEX64 = /^[0-9a-f]{64}$/;
const CONVERGENT_KEY_SEED = 'zos-image 2025-01 convergent chunk key v1';

type Native = typeof import('@napi-rs/blake-hash');
let native: Native | undefined;
let convergentKeySeed: Buffer | undefined;
let ready: Promise<void> | undefined;

/** Load the native hasher once per thread (idempotent); a thread that never hashes never maps it. */
export function initHash(): Promise<void> {
  ready ??= (async () => {
    native = await loadNative();
    convergentKeySeed = native.blake3(Buffer.from(CONVERGENT_KEY_SEED));
  })();
  return ready;
}

/**
 * The package built for this platform first: the napi-rs loader (@napi-rs/blake-hash) tells glibc
 * from musl with process.report.getReport(), ~8 ms of every build and file worker's start. The
 * loader still decides wherever the glibc build does not load (musl, other platforms).
 */
async function loadNative(): Promise<Native> {
  try {
    return createRequire(import.meta.url)(`@napi-rs/blake-hash-${process.platform}-${process.arch}-gnu`) as Native; // an addon: require, not import
  } catch {
    const m = await import('@napi-rs/blake-hash');
    return ((m as { default?: Native }).default ?? m) as Native;
  }
}

function lib(): Native {
  if (!native) throw new ImageError('HOST', 'BLAKE3 used before initHash() resolved');
  return native;
}

/** A Buffer over the same bytes, no copy (the native hasher and codec take Buffers). */
export const asBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

export interface Hasher {
  update(data: Uint8Array): Hasher;
  digestHex(): string;
}

export function newHasher(): Hasher {
  const h = new (lib().Blake3Hasher)();
  const api: Hasher = {
    update(data) {
      h.update(asBuffer(data));
      return api;
    },
    digestHex: () => h.digest('hex'),
  };
  return api;
}

export function blake3Hex(data: Uint8Array): string {
  return lib().blake3(asBuffer(data)).toString('hex');
}

/** Convergent chunk key: BLAKE3 keyed with BLAKE3(CONVERGENT_KEY_SEED), over the plaintext (SPEC.md §4). */
export function convergentKeyOf(plain: Uint8Array): Uint8Array {
  const h = lib().Blake3Hasher.newKeyed(convergentKeySeed!);
  h.update(asBuffer(plain));
  return h.digestBuffer();
}

/** BLAKE3, or BLAKE3 derive-key mode with a context string. */
export function blake3Bytes(data: Uint8Array, context?: string): Uint8Array {
  return context === undefined ? lib().blake3(asBuffer(data)) : lib().Blake3Hasher.deriveKey(context, asBuffer(data));
}

export function isDigestHex(s: string): boolean {
  return HEX64.test(s);
}
