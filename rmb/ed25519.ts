import { createPrivateKey, createPublicKey, sign as opensslSign, verify as opensslVerify, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';

/**
 * ed25519 signatures for RMB (JWTs, envelopes): libsodium through sodium-native's prebuilt addon,
 * else OpenSSL through node:crypto. Both give the same signatures (ed25519 is deterministic) and
 * the same verdicts on honest input; libsodium also refuses small-order keys and points, which
 * no honest signer makes. A check and a signature run on every message, and libsodium's cost
 * 2-3x less CPU than node:crypto's (bench/node.ts prints both). The OS image does not ship the
 * addon yet and runs OpenSSL; `ed25519Backend` says which one this process uses.
 */
interface Sodium {
  crypto_sign_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): void;
  crypto_sign_detached(sig: Uint8Array, msg: Uint8Array, sk: Uint8Array): void;
  crypto_sign_verify_detached(sig: Uint8Array, msg: Uint8Array, pk: Uint8Array): boolean;
}

function loadSodium(): Sodium | null {
  if (process.env.ZOS_ED25519 === 'openssl') return null; // to measure and test the other backend
  try {
    // Through require so that bundlers (the OS image) leave the addon out instead of failing.
    return createRequire(import.meta.url)('sodium-native') as Sodium;
  } catch {
    return null;
  }
}

const sodium = loadSodium();
export const ed25519Backend: 'libsodium' | 'openssl' = sodium ? 'libsodium' : 'openssl';

export type Ed25519Sign = (msg: Uint8Array) => Uint8Array;

/** PKCS#8 header of a raw 32-byte ed25519 private key (RFC 8410). */
const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * The key pair of a 32-byte seed as the keyring derives it (the seed is the private key): its
 * public key, derived once by the backend that signs, and a signer.
 */
export function ed25519KeyPair(seed: Uint8Array, backend = ed25519Backend): { publicKey: Uint8Array; sign: Ed25519Sign } {
  if (backend === 'libsodium' && sodium) {
    const publicKey = new Uint8Array(32);
    const sk = new Uint8Array(64);
    sodium.crypto_sign_seed_keypair(publicKey, sk, seed);
    return {
      publicKey,
      sign: (msg) => {
        const sig = new Uint8Array(64);
        sodium.crypto_sign_detached(sig, msg, sk);
        return sig;
      },
    };
  }
  const key = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8, seed]), format: 'der', type: 'pkcs8' });
  const publicKey = new Uint8Array(Buffer.from(createPublicKey(key).export({ format: 'jwk' }).x!, 'base64url'));
  return { publicKey, sign: (msg) => new Uint8Array(opensslSign(null, msg, key)) };
}

/** Whether the 64-byte `sig` over `msg` verifies against the 32-byte `publicKey`; may throw on malformed keys. */
export function ed25519Verify(sig: Uint8Array, msg: Uint8Array, publicKey: Uint8Array, backend = ed25519Backend): boolean {
  if (backend === 'libsodium' && sodium) return sodium.crypto_sign_verify_detached(sig, msg, publicKey);
  return opensslVerify(null, msg, opensslKey(publicKey), sig);
}

const OPENSSL_KEYS_MAX = 4096;
const opensslKeys = new Map<string, KeyObject>();

/**
 * The OpenSSL key object for a 32-byte ed25519 public key. Parsing it costs about as much as
 * the verification itself, and a peer sees the same few twins again and again: bounded cache,
 * oldest entry out first.
 */
function opensslKey(publicKey: Uint8Array): KeyObject {
  const x = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('base64url');
  let key = opensslKeys.get(x);
  if (!key) {
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
    if (opensslKeys.size >= OPENSSL_KEYS_MAX) opensslKeys.delete(opensslKeys.keys().next().value!);
    opensslKeys.set(x, key);
  }
  return key;
}
