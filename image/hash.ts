import { createBLAKE3, type IHasher } from 'hash-wasm';
import { blake3 } from '@noble/hashes/blake3.js';
import { ImageError } from './errors.ts';

/**
 * BLAKE3, the one digest of format v1. Bulk hashing uses hash-wasm (~20x faster than the pure-JS
 * @noble/hashes here); test/image/codec.test.ts cross-checks both. One wasm instance is shared:
 * every call below is synchronous, and streaming hashers carry their state between updates with
 * save()/load(), so interleaved async callers cannot mix states.
 */
export const DIGEST_HEX_LEN = 64;
const HEX64 = /^[0-9a-f]{64}$/;
const CONVERGENT_KEY_SEED = 'zos-image 2025-01 convergent chunk key v1';

let shared: IHasher | undefined;
let keyed: IHasher | undefined;
let ready: Promise<void> | undefined;

/** Load the wasm hasher once per process (idempotent). */
export function initHash(): Promise<void> {
  ready ??= (async () => {
    shared = await createBLAKE3(256);
    keyed = await createBLAKE3(256, blake3(new TextEncoder().encode(CONVERGENT_KEY_SEED)));
  })();
  return ready;
}

function wasm(): IHasher {
  if (!shared) throw new ImageError('HOST', 'BLAKE3 used before initHash() resolved');
  return shared;
}

export interface Hasher {
  update(data: Uint8Array): Hasher;
  digestHex(): string;
}

export function newHasher(): Hasher {
  const h = wasm();
  let state: Uint8Array | undefined;
  const api: Hasher = {
    update(data) {
      if (state) h.load(state);
      else h.init();
      h.update(data);
      state = h.save();
      return api;
    },
    digestHex() {
      if (state) h.load(state);
      else h.init();
      return h.digest('hex');
    },
  };
  return api;
}

export function blake3Hex(data: Uint8Array): string {
  const h = wasm();
  h.init();
  h.update(data);
  return h.digest('hex');
}

/** Convergent chunk key: BLAKE3 keyed with BLAKE3(CONVERGENT_KEY_SEED), over the plaintext (SPEC.md §4). */
export function convergentKeyOf(plain: Uint8Array): Uint8Array {
  if (!keyed) throw new ImageError('HOST', 'BLAKE3 used before initHash() resolved');
  keyed.init();
  keyed.update(plain);
  return keyed.digest('binary');
}

/** Small inputs only (pure JS): BLAKE3, or BLAKE3 derive-key mode with a context string. */
export function blake3Small(data: Uint8Array, context?: string): Uint8Array {
  return context === undefined ? blake3(data) : blake3(data, { context: new TextEncoder().encode(context) });
}

export function isDigestHex(s: string): boolean {
  return HEX64.test(s);
}
