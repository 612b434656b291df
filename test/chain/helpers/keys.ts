import { keyPairFromSecret, type KeyringPair, type KeyType } from '../../../chain/client/keys.ts';

/** A keyring pair from a raw 32-byte seed (tests only; the node derives its own keys in relay-client/identity.ts). */
export async function keyPairFromSeed(seed: Uint8Array, type: KeyType = 'ed25519'): Promise<KeyringPair> {
  if (seed.length !== 32) throw new Error(`seed must be 32 bytes, got ${seed.length}`);
  return keyPairFromSecret(`0x${Buffer.from(seed).toString('hex')}`, type);
}
