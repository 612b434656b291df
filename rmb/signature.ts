import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { sr25519_verify } from '@polkadot-labs/schnorrkel-wasm';

/**
 * RMB signatures: one type byte ('s' sr25519, 'e' ed25519) followed by the 64-byte signature,
 * used both for JWTs and envelopes. Verification is on every message's path, so each scheme
 * uses the fastest implementation we measured (bench/relay.ts): sr25519 in schnorrkel's own
 * wasm build (about 2x @polkadot/wasm-crypto), ed25519 in OpenSSL with the parsed key cached.
 */
export type KeyType = 'sr25519' | 'ed25519';

export interface Signer {
  readonly keyType: KeyType;
  /** 32-byte public key, the twin's on-chain account id. */
  readonly accountId: Uint8Array;
  /** Raw 64-byte signature over `msg` (sr25519 context "substrate"). */
  sign(msg: Uint8Array): Uint8Array;
}

export const SIGNATURE_LENGTH = 65;
const PREFIX: Record<KeyType, number> = { sr25519: 0x73, ed25519: 0x65 };

export function signPrefixed(signer: Signer, msg: Uint8Array): Uint8Array {
  const sig = signer.sign(msg);
  const out = new Uint8Array(1 + sig.length);
  out[0] = PREFIX[signer.keyType];
  out.set(sig, 1);
  return out;
}

/** True only for a well-formed 65-byte prefixed signature that verifies; never throws. */
export function verifyPrefixed(sig: Uint8Array | undefined, msg: Uint8Array, accountId: Uint8Array): boolean {
  if (!sig || sig.length !== SIGNATURE_LENGTH || accountId.length !== 32) return false;
  const raw = sig.subarray(1);
  try {
    if (sig[0] === PREFIX.sr25519) return sr25519_verify(accountId, msg, raw);
    if (sig[0] === PREFIX.ed25519) return verify(null, msg, ed25519Key(accountId), raw);
  } catch {
    return false;
  }
  return false;
}

const ED25519_KEYS_MAX = 4096;
const ed25519Keys = new Map<string, KeyObject>();

/**
 * The OpenSSL key object for a 32-byte ed25519 public key. Parsing it costs about as much as
 * the verification itself, and a peer sees the same few twins again and again: bounded cache,
 * oldest entry out first.
 */
function ed25519Key(publicKey: Uint8Array): KeyObject {
  const x = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('base64url');
  let key = ed25519Keys.get(x);
  if (!key) {
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
    if (ed25519Keys.size >= ED25519_KEYS_MAX) ed25519Keys.delete(ed25519Keys.keys().next().value!);
    ed25519Keys.set(x, key);
  }
  return key;
}
