import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decrypt, E2eError, encrypt, sharedKey } from '../../relay-client/e2e.ts';
import { createIdentity, IdentityError } from '../../relay-client/identity.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const A = 'bottom drive obey lake curtain smoke basket hold race lonely fit walk';
const B = 'tackle blouse grain dawn adult loyal tattoo price access tilt chimney silk';

// Reference §4 vectors (checked against the official npm client).
const vectors = [
  { name: 'mnemonic A', seed: A, secret: 'fac7959dbfe72f052e5a0c3c8d6530f202b02fd8f9f5ca3580ec8deb7797479e', pk: '035b26108e8b97479c547da4860d862dc08ab2c29ada449c74d5a9a58a6c46a8c4' },
  { name: 'mnemonic B', seed: B, secret: undefined, pk: '030ad72f9f05d8a4fe1d462f264f427d1ef9eba6dba234d7a01e1122157264778f' },
];
for (const v of vectors) {
  test(`identity: ${v.name} gives the documented secp256k1 key`, async () => {
    const id = await createIdentity(v.seed);
    if (v.secret) assert.equal(hex(id.secpSecret), v.secret);
    assert.equal(hex(id.secpPublic), v.pk);
  });
}

test('identity: a hex seed is the secp256k1 secret as is', async () => {
  const seed = '0x' + '07'.repeat(32);
  const id = await createIdentity(seed, 'ed25519');
  assert.equal(hex(id.secpSecret), '07'.repeat(32));
  assert.equal(id.keyType, 'ed25519');
  assert.equal(id.accountId.length, 32);
});

for (const bad of ['0x1234', 'not a mnemonic at all', '0x' + 'zz'.repeat(32)]) {
  test(`identity: rejects seed ${JSON.stringify(bad.slice(0, 12))}`, async () => {
    await assert.rejects(createIdentity(bad), IdentityError);
  });
}

test('e2e: shared(A->B) = shared(B->A) = documented key', async () => {
  const a = await createIdentity(A);
  const b = await createIdentity(B);
  const want = 'c45a2f02b4ae013a524c08ab224643e74f010284016d329f38255b6245d45d78';
  assert.equal(hex(sharedKey(a.secpSecret, b.secpPublic)), want);
  assert.equal(hex(sharedKey(b.secpSecret, a.secpPublic)), want);
});

test('e2e: cipher is nonce(12) | ct | tag(16) and decrypts', () => {
  const key = new Uint8Array(32).fill(3);
  const nonce = new Uint8Array(12).fill(1);
  const c = encrypt(key, Buffer.from('{"x":1}'), nonce);
  assert.equal(c.length, 12 + 7 + 16);
  assert.deepEqual(c.subarray(0, 12), nonce);
  assert.equal(Buffer.from(decrypt(key, c)).toString(), '{"x":1}');
});

test('e2e: random nonces differ between messages', () => {
  const key = new Uint8Array(32).fill(3);
  assert.notDeepEqual(encrypt(key, Buffer.from('a')).subarray(0, 12), encrypt(key, Buffer.from('a')).subarray(0, 12));
});

const tampered = [
  { name: 'flipped ciphertext byte', mut: (c: Uint8Array) => { c[13]! ^= 1; } },
  { name: 'flipped tag byte', mut: (c: Uint8Array) => { c[c.length - 1]! ^= 1; } },
];
for (const tc of tampered) {
  test(`e2e: decrypt rejects a ${tc.name}`, () => {
    const key = new Uint8Array(32).fill(3);
    const c = encrypt(key, Buffer.from('hello'));
    tc.mut(c);
    assert.throws(() => decrypt(key, c), E2eError);
  });
}

test('e2e: decrypt rejects a too-short cipher and sharedKey an invalid point', () => {
  assert.throws(() => decrypt(new Uint8Array(32), new Uint8Array(27)), E2eError);
  assert.throws(() => sharedKey(new Uint8Array(32).fill(1), new Uint8Array(33).fill(9)), E2eError);
});

test('identity: the keys are the keyring pair\'s (hex seed and mnemonic, ed25519 byte for byte, sr25519 verified by the keyring)', async () => {
  const { Keyring } = await import('@polkadot/keyring');
  const { cryptoWaitReady } = await import('@polkadot/util-crypto');
  await cryptoWaitReady();
  const msg = new Uint8Array(16).fill(5);
  for (const type of ['ed25519', 'sr25519'] as const) {
    for (const seed of ['0x' + '09'.repeat(32), A]) {
      const id = await createIdentity(seed, type);
      const keyring = new Keyring({ type, ss58Format: 42 });
      const pair = seed.startsWith('0x') ? keyring.addFromSeed(Buffer.from(seed.slice(2), 'hex')) : keyring.addFromUri(seed);
      assert.equal(id.address, pair.address, `${type} ${seed.slice(0, 6)}`);
      assert.equal(hex(id.accountId), hex(pair.publicKey));
      assert.equal(id.pair.address, pair.address);
      if (type === 'ed25519') assert.equal(hex(id.pair.sign(msg)), hex(pair.sign(msg)));
      assert.ok(pair.verify(msg, id.pair.sign(msg), pair.publicKey), `${type}: the keyring verifies our signature`);
    }
  }
});
