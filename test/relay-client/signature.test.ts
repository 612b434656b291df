import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady, ed25519Verify, sr25519Verify } from '@polkadot/util-crypto';
import { challenge } from '../../relay-client/challenge.ts';
import { createIdentity } from '../../relay-client/identity.ts';
import { signPrefixed, verifyPrefixed, type KeyType } from '../../rmb/signature.ts';
import { verifyPrefixedPooled, verifyStats } from '../../rmb/verify-pool.ts';

/**
 * The hot-path signers and verifiers (schnorrkel wasm for sr25519, OpenSSL for ed25519) against
 * the @polkadot keyring as the oracle: same public keys, and each side accepts the other's
 * signatures, for a hex seed and the reference mnemonics (rmb-protocol.md §4).
 */
const SEEDS = [
  '0x' + '0a'.repeat(32),
  'bottom drive obey lake curtain smoke basket hold race lonely fit walk',
  'tackle blouse grain dawn adult loyal tattoo price access tilt chimney silk',
];
const MSG = new Uint8Array(Buffer.from('d68ec43baaf2eea1bc72429ce8e7d417', 'hex')); // reference §9 challenge
const PREFIX = { sr25519: 0x73, ed25519: 0x65 } as const;

for (const keyType of ['sr25519', 'ed25519'] as KeyType[]) {
  test(`${keyType}: our signer and verifier agree with the polkadot keyring both ways`, async () => {
    await cryptoWaitReady();
    const oracleVerify = keyType === 'sr25519' ? sr25519Verify : ed25519Verify;
    for (const seed of SEEDS) {
      const id = await createIdentity(seed, keyType);
      const keyring = new Keyring({ type: keyType });
      const oracle = seed.startsWith('0x') ? keyring.addFromSeed(Buffer.from(seed.slice(2), 'hex')) : keyring.addFromUri(seed);
      assert.deepEqual(id.accountId, oracle.publicKey, `${seed}: same public key`);

      const ours = signPrefixed(id, MSG);
      assert.equal(ours.length, 65);
      assert.equal(ours[0], PREFIX[keyType]);
      assert.ok(oracleVerify(MSG, ours.subarray(1), oracle.publicKey), `${seed}: keyring accepts our signature`);

      const theirs = new Uint8Array([PREFIX[keyType], ...oracle.sign(MSG)]);
      assert.ok(verifyPrefixed(theirs, MSG, id.accountId), `${seed}: we accept the keyring's signature`);
      assert.ok(verifyPrefixed(ours, MSG, id.accountId));
    }
  });

  test(`${keyType}: tampered message, signature, key or prefix are rejected`, async () => {
    const id = await createIdentity(SEEDS[1]!, keyType);
    const other = await createIdentity(SEEDS[2]!, keyType);
    const sig = signPrefixed(id, MSG);
    const msg2 = new Uint8Array(MSG);
    msg2[0]! ^= 1;
    assert.equal(verifyPrefixed(sig, msg2, id.accountId), false, 'other message');
    const sig2 = new Uint8Array(sig);
    sig2[10]! ^= 1;
    assert.equal(verifyPrefixed(sig2, MSG, id.accountId), false, 'flipped signature bit');
    assert.equal(verifyPrefixed(sig, MSG, other.accountId), false, 'other key');
    const swapped = new Uint8Array(sig);
    swapped[0] = keyType === 'sr25519' ? PREFIX.ed25519 : PREFIX.sr25519;
    assert.equal(verifyPrefixed(swapped, MSG, id.accountId), false, 'wrong scheme prefix');
  });
}

test('verify: malformed input is false, never a throw, and leaves the verifiers working', async () => {
  const sr = await createIdentity(SEEDS[0]!, 'sr25519');
  const ed = await createIdentity(SEEDS[0]!, 'ed25519');
  const good = { sr: signPrefixed(sr, MSG), ed: signPrefixed(ed, MSG) };
  const notAPoint = new Uint8Array(32).fill(0xff);
  const cases: [Uint8Array | undefined, Uint8Array][] = [
    [undefined, sr.accountId],
    [new Uint8Array(0), sr.accountId],
    [good.sr.subarray(0, 64), sr.accountId],
    [new Uint8Array([...good.sr, 0]), sr.accountId],
    [good.sr, sr.accountId.subarray(0, 31)],
    [good.sr, notAPoint],
    [good.ed, notAPoint],
    [new Uint8Array([0x73, ...new Uint8Array(64).fill(0xff)]), sr.accountId],
    [new Uint8Array([0x65, ...new Uint8Array(64).fill(0xff)]), ed.accountId],
    [new Uint8Array([0x78, ...good.sr.subarray(1)]), sr.accountId],
  ];
  for (const [sig, key] of cases) assert.equal(verifyPrefixed(sig, MSG, key), false);
  assert.ok(verifyPrefixed(good.sr, MSG, sr.accountId));
  assert.ok(verifyPrefixed(good.ed, MSG, ed.accountId));
});

test('verify: the envelope challenge path (sign with one twin, verify against its account)', async () => {
  const id = await createIdentity(SEEDS[1]!, 'sr25519');
  const env = {
    uid: 'u', tags: '', timestamp: 1700000000, expiration: 20, source: { twin: 7 }, destination: { twin: 42 },
    message: { kind: 'request' as const, command: 'zos.statistics.get' }, schema: 'application/json', relays: ['r'],
  };
  const signature = signPrefixed(id, challenge(env));
  assert.ok(verifyPrefixed(signature, challenge({ ...env, signature }), id.accountId));
  assert.equal(verifyPrefixed(signature, challenge({ ...env, uid: 'v' }), id.accountId), false);
});

test('checks on worker threads (verify-pool): a burst gives the same verdicts as inline checks, bad signatures included', async () => {
  const sr = await createIdentity(SEEDS[1]!, 'sr25519');
  const ed = await createIdentity(SEEDS[2]!, 'ed25519');
  const cases = Array.from({ length: 64 }, (_, i) => {
    const id = i % 2 ? sr : ed;
    const msg = new Uint8Array([i, 1, 2, 3]);
    const sig = signPrefixed(id, msg);
    if (i % 3 === 0) sig[10]! ^= 1; // every third one forged
    return { sig, msg, key: id.accountId, want: i % 3 !== 0 };
  });
  // The first bursts run inline while the pool starts; keep sending until the pool took some.
  const deadline = Date.now() + 60_000;
  while (verifyStats.pooled === 0 && Date.now() < deadline) {
    const got = await Promise.all(cases.map((c) => verifyPrefixedPooled(c.sig, c.msg, c.key)));
    assert.deepEqual(got, cases.map((c) => c.want));
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(verifyStats.pooled > 0, 'the pool checked some signatures');
  assert.equal(await verifyPrefixedPooled(undefined, MSG, sr.accountId), false);
});

test('ed25519 checks run inline even in a burst (a hand-off to a worker costs about what the check does)', async () => {
  const ed = await createIdentity(SEEDS[2]!, 'ed25519');
  const sig = signPrefixed(ed, MSG);
  const before = { ...verifyStats };
  const got = await Promise.all(Array.from({ length: 64 }, () => verifyPrefixedPooled(sig, MSG, ed.accountId)));
  assert.ok(got.every(Boolean));
  assert.equal(verifyStats.pooled, before.pooled);
  assert.equal(verifyStats.inline, before.inline + 64);
});
