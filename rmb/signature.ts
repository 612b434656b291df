import { sr25519_verify } from '@polkadot-labs/schnorrkel-wasm';
import { ed25519Verify } from './ed25519.ts';

/**
 * RMB signatures: one type byte ('s' sr25519, 'e' ed25519) followed by the 64-byte signature,
 * used both for JWTs and envelopes. Verification is on every message's path, so each scheme
 * uses the fastest implementation we measured (bench/relay.ts): sr25519 in schnorrkel's own
 * wasm build (about 2x @polkadot/wasm-crypto), ed25519 in libsodium (ed25519.ts).
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

/** The scheme a prefixed signature names; null for an unknown prefix. */
export function signatureKeyType(sig: Uint8Array): KeyType | null {
  return sig[0] === PREFIX.sr25519 ? 'sr25519' : sig[0] === PREFIX.ed25519 ? 'ed25519' : null;
}

/** True only for a well-formed 65-byte prefixed signature that verifies; never throws. */
export function verifyPrefixed(sig: Uint8Array | undefined, msg: Uint8Array, accountId: Uint8Array): boolean {
  if (!sig || sig.length !== SIGNATURE_LENGTH || accountId.length !== 32) return false;
  const raw = sig.subarray(1);
  try {
    if (sig[0] === PREFIX.sr25519) return sr25519_verify(accountId, msg, raw);
    if (sig[0] === PREFIX.ed25519) return ed25519Verify(raw, msg, accountId);
  } catch {
    return false;
  }
  return false;
}
