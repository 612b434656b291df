import { blake3 } from '@noble/hashes/blake3.js';
import { bytesToHex } from '@noble/hashes/utils.js';

/** The one digest algorithm of format v1. Kept behind this seam so a faster BLAKE3 backend can drop in. */
export const DIGEST_ALGO = 'blake3' as const;
export const DIGEST_HEX_LEN = 64;
const HEX64 = /^[0-9a-f]{64}$/;

export interface Hasher {
  update(data: Uint8Array): Hasher;
  digestHex(): string;
}

export function newHasher(): Hasher {
  const h = blake3.create();
  const api: Hasher = {
    update(data) {
      h.update(data);
      return api;
    },
    digestHex: () => bytesToHex(h.digest()),
  };
  return api;
}

export function blake3Hex(data: Uint8Array): string {
  return bytesToHex(blake3(data));
}

export function blake3Bytes(data: Uint8Array, context?: string): Uint8Array {
  return context === undefined ? blake3(data) : blake3(data, { context: new TextEncoder().encode(context) });
}

export function isDigestHex(s: string): boolean {
  return HEX64.test(s);
}
