import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady, ed25519Verify as oracleVerify } from '@polkadot/util-crypto';
import { ed25519Backend, ed25519KeyPair, ed25519Verify } from '../../rmb/ed25519.ts';

/**
 * The two ed25519 backends (libsodium, OpenSSL) against each other and the @polkadot keyring:
 * identical signatures, and the same verdicts on good, altered and wrong-key signatures. The
 * fast one must be what this tree runs (CI installs sodium-native from package.json). Each backend
 * derives the public key of a seed itself, as the keyring does.
 */
const BACKENDS = ['libsodium', 'openssl'] as const;

test('this tree verifies and signs ed25519 with libsodium', () => {
  assert.equal(ed25519Backend, process.env.ZOS_ED25519 === 'openssl' ? 'openssl' : 'libsodium');
});

test('libsodium and OpenSSL: same signatures as the keyring, same verdicts', async () => {
  await cryptoWaitReady();
  const keyring = new Keyring({ type: 'ed25519' });
  for (let i = 0; i < 20; i++) {
    const seed = new Uint8Array(randomBytes(32));
    const pair = keyring.addFromSeed(seed);
    const other = keyring.addFromSeed(new Uint8Array(randomBytes(32)));
    const msg = new Uint8Array(randomBytes(i * 7));
    const pairs = BACKENDS.map((b) => ed25519KeyPair(seed, b));
    for (const [j, p] of pairs.entries()) assert.deepEqual(p.publicKey, pair.publicKey, `${BACKENDS[j]}: the keyring's public key`);
    const sigs = pairs.map((p) => p.sign(msg));
    assert.deepEqual(sigs[0], sigs[1], 'deterministic: both backends sign alike');
    assert.deepEqual(sigs[0], pair.sign(msg), 'and as the keyring does');
    assert.ok(oracleVerify(msg, sigs[0]!, pair.publicKey));
    const altered = new Uint8Array(sigs[0]!);
    altered[i % 64]! ^= 1 << (i % 8);
    const bigS = new Uint8Array(sigs[0]!);
    bigS[63]! |= 0xf0; // S >= the group order: refused by both
    for (const b of BACKENDS) {
      assert.equal(ed25519Verify(sigs[0]!, msg, pair.publicKey, b), true, `${b}: good signature`);
      assert.equal(ed25519Verify(altered, msg, pair.publicKey, b), false, `${b}: altered signature`);
      assert.equal(ed25519Verify(bigS, msg, pair.publicKey, b), false, `${b}: non-canonical S`);
      assert.equal(ed25519Verify(sigs[0]!, msg, other.publicKey, b), false, `${b}: another key`);
      if (msg.length > 0) assert.equal(ed25519Verify(sigs[0]!, msg.subarray(1), pair.publicKey, b), false, `${b}: another message`);
    }
  }
});
