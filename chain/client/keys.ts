import type { KeyringPair } from '@polkadot/keyring/types';
import { z } from 'zod';
import { ChainError, ChainErrorCode } from './errors.ts';
import { accountBytes, SS58_FORMAT, ss58Encode } from './scale.ts';

export type { KeyringPair };
export { SS58_FORMAT };

export const keyTypeSchema = z.enum(['sr25519', 'ed25519']);
export type KeyType = z.infer<typeof keyTypeSchema>;

/**
 * A key pair from a BIP39 mnemonic, a 0x-prefixed 32-byte hex seed, or a dev URI (`//Alice`).
 * zos nodes sign with ed25519 (their identity seed); users usually with sr25519. The keyring
 * (and its wasm crypto, ~30 MB resident) loads only here, when a caller asks for a pair.
 */
export async function keyPairFromSecret(secret: string, type: KeyType = 'sr25519'): Promise<KeyringPair> {
  keyTypeSchema.parse(type);
  const [{ Keyring }, { cryptoWaitReady, mnemonicValidate }] = await Promise.all([import('@polkadot/keyring'), import('@polkadot/util-crypto')]);
  await cryptoWaitReady();
  const s = secret.trim();
  const valid = s.startsWith('//') || /^0x[0-9a-fA-F]{64}$/.test(s) || mnemonicValidate(s);
  if (!valid) {
    throw new ChainError(ChainErrorCode.badInput, 'secret must be a BIP39 mnemonic, a 0x-prefixed 32-byte hex seed or a //dev URI');
  }
  return new Keyring({ type, ss58Format: SS58_FORMAT }).addFromUri(s);
}

/** The SS58 (prefix 42) address of a 32-byte public key or a hex account id. */
export function ss58Address(publicKey: Uint8Array | string): string {
  return ss58Encode(accountBytes(publicKey));
}
