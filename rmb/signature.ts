import { createPublicKey, verify } from 'node:crypto';
import { sr25519Verify } from '@polkadot/util-crypto';

/**
 * RMB signatures: one type byte ('s' sr25519, 'e' ed25519) followed by the 64-byte signature,
 * used both for JWTs and envelopes. sr25519 needs `cryptoWaitReady()` to have resolved.
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
    if (sig[0] === PREFIX.sr25519) return sr25519Verify(msg, raw, accountId);
    if (sig[0] === PREFIX.ed25519) return ed25519VerifyNative(msg, raw, accountId);
  } catch {
    return false;
  }
  return false;
}

/** ed25519 through OpenSSL: an order of magnitude cheaper than the JS/wasm path. */
function ed25519VerifyNative(msg: Uint8Array, sig: Uint8Array, publicKey: Uint8Array): boolean {
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') }, format: 'jwk' });
  return verify(null, msg, key, sig);
}
