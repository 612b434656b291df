import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';

/**
 * End-to-end payload encryption (reference §4): key = SHA-256(x of ECDH(sk_self, pk_peer)),
 * AES-256-GCM, no AAD, wire form nonce(12) | ciphertext | tag(16).
 */
const NONCE = 12;
const TAG = 16;

export class E2eError extends Error {
  readonly code = 'ERR_E2E' as const;
}

/** 33-byte compressed public key for a 32-byte secret. */
export function secpPublicKey(secret: Uint8Array): Uint8Array {
  return secp256k1.getPublicKey(secret, true);
}

export function sharedKey(secret: Uint8Array, peerPublic: Uint8Array): Uint8Array {
  try {
    const point = secp256k1.getSharedSecret(secret, peerPublic, true);
    return sha256(point.subarray(1, 33));
  } catch (err) {
    throw new E2eError(`invalid peer public key: ${(err as Error).message}`);
  }
}

/**
 * Shared keys for one own secret, memoised per peer key: ECDH is the costly step and a peer
 * talks to the same few twins again and again. Bounded; the oldest entry goes first.
 */
export class SharedKeyCache {
  private readonly keys = new Map<string, Uint8Array>();
  /** By the key's own array too: a twin directory hands out the same `pk` array per twin, and this skips hex-encoding it per message. */
  private readonly byArray = new WeakMap<Uint8Array, Uint8Array>();

  constructor(
    private readonly secret: Uint8Array,
    private readonly max = 4096,
  ) {}

  get(peerPublic: Uint8Array): Uint8Array {
    const known = this.byArray.get(peerPublic);
    if (known) return known;
    const id = Buffer.from(peerPublic).toString('hex');
    let key = this.keys.get(id);
    if (!key) {
      key = sharedKey(this.secret, peerPublic);
      if (this.keys.size >= this.max) this.keys.delete(this.keys.keys().next().value!);
      this.keys.set(id, key);
    }
    this.byArray.set(peerPublic, key);
    return key;
  }
}

/**
 * Random nonces are taken from a pool filled 4 KiB at a time: asking the CSPRNG for 12 bytes
 * per message cost as much as the sealing. Each nonce is used once (the offset only moves on).
 */
const noncePool = Buffer.alloc(NONCE * 341);
let nonceAt = noncePool.length;

function randomNonce(): Uint8Array {
  if (nonceAt + NONCE > noncePool.length) {
    randomFillSync(noncePool);
    nonceAt = 0;
  }
  nonceAt += NONCE;
  return noncePool.subarray(nonceAt - NONCE, nonceAt);
}

export function encrypt(key: Uint8Array, plain: Uint8Array, nonce: Uint8Array = randomNonce()): Uint8Array {
  if (nonce.length !== NONCE) throw new E2eError(`nonce must be ${NONCE} bytes`);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  const out = new Uint8Array(NONCE + plain.length + TAG);
  out.set(nonce, 0);
  // GCM is a stream mode: update() gives back exactly as many bytes as it took, final() none.
  out.set(c.update(plain), NONCE);
  c.final();
  out.set(c.getAuthTag(), NONCE + plain.length);
  return out;
}

export function decrypt(key: Uint8Array, cipher: Uint8Array): Uint8Array {
  if (cipher.length < NONCE + TAG) throw new E2eError('cipher too short');
  const d = createDecipheriv('aes-256-gcm', key, cipher.subarray(0, NONCE));
  d.setAuthTag(cipher.subarray(cipher.length - TAG));
  try {
    // GCM is a stream mode: update() gives back every byte, final() only checks the tag.
    const plain = d.update(cipher.subarray(NONCE, cipher.length - TAG));
    d.final();
    return new Uint8Array(plain.buffer, plain.byteOffset, plain.byteLength);
  } catch {
    throw new E2eError('failed to decrypt: authentication failed');
  }
}
