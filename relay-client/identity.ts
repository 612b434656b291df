import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { hexToU8a, isHex } from '@polkadot/util';
import { cryptoWaitReady, mnemonicToMiniSecret, mnemonicValidate } from '@polkadot/util-crypto';
import { secpPublicKey } from './e2e.ts';
import type { KeyType, Signer } from './signature.ts';

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
    sign: (msg) => pair.sign(msg),
  };
}
