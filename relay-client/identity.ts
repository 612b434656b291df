import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { hexToU8a, isHex, u8aEq } from '@polkadot/util';
import { cryptoWaitReady, mnemonicToMiniSecret, mnemonicValidate } from '@polkadot/util-crypto';
import { sr25519_pubkey, sr25519_secret_from_seed, sr25519_sign } from '@polkadot-labs/schnorrkel-wasm';
import { secpPublicKey } from './e2e.ts';
import { ed25519Signer } from '../rmb/ed25519.ts';
import type { KeyType, Signer } from '../rmb/signature.ts';

/**
 * A twin's keys: the sr25519/ed25519 account key (signs JWTs and envelopes) and the secp256k1
 * key for end-to-end encryption (reference §4: mnemonic -> mini-secret; hex seed -> raw bytes).
 */
export interface Identity extends Signer {
  readonly address: string;
  readonly secpSecret: Uint8Array;
  /** 33-byte compressed secp256k1 key, as published in the twin's `pk`. */
  readonly secpPublic: Uint8Array;
  /** The keyring pair, for signing chain extrinsics (e.g. updateTwin). */
  readonly pair: KeyringPair;
}

export class IdentityError extends Error {
  readonly code = 'ERR_BAD_SEED' as const;
}

export async function createIdentity(seed: string, keyType: KeyType = 'sr25519'): Promise<Identity> {
  await cryptoWaitReady();
  const keyring = new Keyring({ type: keyType });
  let pair: KeyringPair;
  /** The 32-byte seed both the account key and the secp256k1 key derive from. */
  let secpSecret: Uint8Array;
  const trimmed = seed.trim();
  if (trimmed.startsWith('0x')) {
    if (!isHex(trimmed) || trimmed.length !== 66) throw new IdentityError('hex seed must be 0x + 64 hex digits');
    secpSecret = hexToU8a(trimmed);
    pair = keyring.addFromSeed(secpSecret);
  } else {
    if (!mnemonicValidate(trimmed)) throw new IdentityError('invalid mnemonic');
    secpSecret = mnemonicToMiniSecret(trimmed);
    pair = keyring.addFromUri(trimmed);
  }
  return {
    keyType,
    accountId: pair.publicKey,
    address: pair.address,
    secpSecret,
    secpPublic: secpPublicKey(secpSecret),
    pair,
    sign: keyType === 'ed25519' ? ed25519Signer(secpSecret, pair.publicKey) : sr25519Signer(secpSecret, pair),
  };
}

/**
 * sr25519 through schnorrkel's own wasm build (about 2x the keyring's per signature, see
 * rmb/signature.ts). The keyring derives a seed's or mnemonic's pair from that same 32-byte
 * mini-secret; the derived public key is compared, and the keyring signs if it ever differs.
 */
function sr25519Signer(seed: Uint8Array, pair: KeyringPair): (msg: Uint8Array) => Uint8Array {
  const secret = sr25519_secret_from_seed(seed);
  const publicKey = sr25519_pubkey(secret);
  if (!u8aEq(publicKey, pair.publicKey)) return (msg) => pair.sign(msg);
  return (msg) => sr25519_sign(publicKey, secret, msg);
}
