import { sr25519_pubkey, sr25519_secret_from_seed, sr25519_sign } from '@polkadot-labs/schnorrkel-wasm';
import type { ChainSigner } from '../chain/client/extrinsic.ts';
import { ss58Address } from '../chain/client/keys.ts';
import { fromHex } from '../chain/client/scale.ts';
import { secpPublicKey } from './e2e.ts';
import { ed25519KeyPair } from '../rmb/ed25519.ts';
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
  /** The account key as the chain client signs with it (a keyring pair's shape). */
  readonly pair: ChainSigner;
}

export class IdentityError extends Error {
  readonly code = 'ERR_BAD_SEED' as const;
}

/**
 * The pair the keyring derives from a hex seed or a mnemonic, without the keyring: both key
 * types use the 32-byte seed (a mnemonic's BIP39 mini-secret) as their secret, ed25519 through
 * libsodium or OpenSSL and sr25519 through schnorrkel's wasm build (cross-checked against the
 * keyring in test/relay-client/e2e.test.ts); neither the keyring nor its wasm crypto (~10 MB
 * resident, ~100 ms to start) loads.
 */
export async function createIdentity(seed: string, keyType: KeyType = 'sr25519'): Promise<Identity> {
  const trimmed = seed.trim();
  let secret: Uint8Array;
  if (trimmed.startsWith('0x')) {
    if (!/^0x[0-9a-fA-F]{64}$/.test(trimmed)) throw new IdentityError('hex seed must be 0x + 64 hex digits');
    secret = fromHex(trimmed);
  } else {
    secret = await miniSecret(trimmed);
  }
  const { accountId, sign } = keyType === 'ed25519' ? ed25519Keys(secret) : sr25519Keys(secret);
  const address = ss58Address(accountId);
  let secpPublic: Uint8Array | undefined;
  return {
    keyType,
    accountId,
    address,
    secpSecret: secret,
    // Computed when first asked for (secp256k1's tables cost ~40 ms): a CLI command that only
    // reads the chain never needs it.
    get secpPublic() {
      return (secpPublic ??= secpPublicKey(secret));
    },
    pair: { address, publicKey: accountId, type: keyType, sign },
    sign,
  };
}

/**
 * A BIP39 mnemonic's substrate mini-secret (as @polkadot/util-crypto's mnemonicToMiniSecret):
 * PBKDF2-SHA512 over the mnemonic's entropy (not its words), salt "mnemonic", 2048 rounds, the
 * first 32 bytes. The word list loads only when a mnemonic is given.
 */
async function miniSecret(mnemonic: string): Promise<Uint8Array> {
  const [{ mnemonicToEntropy, validateMnemonic }, { wordlist }, { pbkdf2 }, { sha512 }] = await Promise.all([
    import('@scure/bip39'),
    import('@scure/bip39/wordlists/english.js'),
    import('@noble/hashes/pbkdf2.js'),
    import('@noble/hashes/sha2.js'),
  ]);
  if (!validateMnemonic(mnemonic, wordlist)) throw new IdentityError('invalid mnemonic');
  return pbkdf2(sha512, mnemonicToEntropy(mnemonic, wordlist), 'mnemonic', { c: 2048, dkLen: 64 }).slice(0, 32);
}

function ed25519Keys(seed: Uint8Array): { accountId: Uint8Array; sign: (msg: Uint8Array) => Uint8Array } {
  const { publicKey, sign } = ed25519KeyPair(seed);
  return { accountId: publicKey, sign };
}

function sr25519Keys(seed: Uint8Array): { accountId: Uint8Array; sign: (msg: Uint8Array) => Uint8Array } {
  const secret = sr25519_secret_from_seed(seed);
  const accountId = sr25519_pubkey(secret);
  return { accountId, sign: (msg) => sr25519_sign(accountId, secret, msg) };
}
