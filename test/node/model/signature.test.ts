import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { challengeHash, sign, verifySignatures, type Deployment } from '../../../node/model/index.ts';
import { ZosError } from '../../../node/errors.ts';
import { deployment } from './fixtures.ts';

let keys: Record<number, KeyringPair>;
before(async () => {
  await cryptoWaitReady();
  keys = {
    42: new Keyring({ type: 'sr25519' }).addFromUri('//Alice'),
    43: new Keyring({ type: 'ed25519' }).addFromUri('//Bob'),
    44: new Keyring({ type: 'sr25519' }).addFromUri('//Charlie'),
  };
});

const getKey = async (twin: number) => {
  const k = keys[twin];
  if (!k) throw new Error('no such twin');
  return k.publicKey;
};

const disk = [{ name: 'disk', type: 'zmount', data: { size: 1 } }];
type Req = { twin_id: number; required: boolean; weight: number };
const dl = (requests: Req[], weight_required = 1, style = '') => deployment(disk, { twin: 42, requests, weight_required, style });

async function rejects(d: Deployment, message: string) {
  await assert.rejects(verifySignatures(d, getKey), (e) => ZosError.is(e, 'INVALID_SIGNATURE') && e.message === message);
}

test('signature: an sr25519 signature by the originator verifies (polkadot-js "substrate" context)', async () => {
  await verifySignatures(sign(dl([{ twin_id: 42, required: true, weight: 1 }]), 42, keys[42]!), getKey);
});

test('signature: an ed25519 signature verifies, and an empty signature_type means ed25519', async () => {
  const d = deployment(disk, { twin: 43, requests: [{ twin_id: 43, required: false, weight: 1 }] });
  const signed = sign(d, 43, keys[43]!);
  await verifySignatures(signed, getKey);
  signed.signature_requirement.signatures[0]!.signature_type = '';
  await verifySignatures(signed, getKey);
});

test('signature: polka-wallet style signs the ASCII <Bytes>hex</Bytes>, not the raw hash', async () => {
  const d = dl([{ twin_id: 42, required: true, weight: 1 }], 1, 'polka-wallet');
  const signed = sign(d, 42, keys[42]!, 'polka-wallet');
  await verifySignatures(signed, getKey);
  // the signature covers the ASCII wrapper, as a polkadot browser wallet produces it
  const wrapped = new TextEncoder().encode(`<Bytes>${Buffer.from(challengeHash(d)).toString('hex')}</Bytes>`);
  const sig = Buffer.from(signed.signature_requirement.signatures[0]!.signature, 'hex');
  assert.equal(keys[42]!.verify(wrapped, sig, keys[42]!.publicKey), true);
  // the raw 16 bytes signed under polka style do not verify
  const raw = Buffer.from(keys[42]!.sign(challengeHash(d))).toString('hex');
  const wrong = { ...d, signature_requirement: { ...d.signature_requirement, signatures: [{ twin_id: 42, signature: raw, signature_type: 'sr25519' }] } };
  await rejects(wrong, 'failed to verify signature');
});

test('signature: the originator must sign even when its request says not required', async () => {
  await rejects(dl([{ twin_id: 42, required: false, weight: 1 }]), "missing required signature for twin '42'");
});

test('signature: a required co-signer that did not sign is reported', async () => {
  const d = sign(dl([{ twin_id: 42, required: true, weight: 1 }, { twin_id: 43, required: true, weight: 1 }]), 42, keys[42]!);
  await rejects(d, "missing required signature for twin '43'");
});

test('signature: every request is checked — an optional unsigned one fails verification', async () => {
  const d = sign(dl([{ twin_id: 42, required: true, weight: 1 }, { twin_id: 43, required: false, weight: 1 }]), 42, keys[42]!);
  await rejects(d, 'failed to verify signature');
});

test('signature: a signature by the wrong key, or over other content, fails', async () => {
  const d = dl([{ twin_id: 42, required: true, weight: 1 }]);
  const byCharlie = sign(d, 42, keys[44]!);
  await rejects(byCharlie, 'failed to verify signature');
  const tampered = sign(d, 42, keys[42]!);
  tampered.workloads[0]!.data = { size: 2 };
  await rejects(tampered, 'failed to verify signature');
  const mislabelled = sign(d, 42, keys[42]!);
  mislabelled.signature_requirement.signatures[0]!.signature_type = 'ed25519';
  await rejects(mislabelled, 'failed to verify signature');
});

test('signature: a non-hex signature is reported with the Go decode error', async () => {
  const d = dl([{ twin_id: 42, required: true, weight: 1 }]);
  d.signature_requirement.signatures.push({ twin_id: 42, signature: 'zz', signature_type: 'sr25519' });
  await rejects(d, "invalid signature: encoding/hex: invalid byte: U+007A 'z'");
});

test('signature: the originator must be listed in the requests', async () => {
  const d = sign(dl([{ twin_id: 43, required: true, weight: 1 }]), 43, keys[43]!);
  await rejects(d, 'originator twin id must be in the signature requests');
});

test('signature: weights are summed and must reach weight_required', async () => {
  const reqs = [{ twin_id: 42, required: true, weight: 1 }, { twin_id: 43, required: false, weight: 2 }];
  const one = sign(dl([reqs[0]!], 2), 42, keys[42]!);
  await rejects(one, 'required signature weight is not reached');
  const both = sign(sign(dl(reqs, 3), 42, keys[42]!), 43, keys[43]!);
  await verifySignatures(both, getKey);
  const tooMuch = sign(sign(dl(reqs, 4), 42, keys[42]!), 43, keys[43]!);
  await rejects(tooMuch, 'required signature weight is not reached');
});

test('signature: a failed twin key lookup names the twin and keeps the cause', async () => {
  const d = sign(dl([{ twin_id: 42, required: true, weight: 1 }, { twin_id: 99, required: false, weight: 1 }]), 42, keys[42]!);
  await rejects(d, "failed to get public key for twin '99': no such twin");
});

test('signature: sign replaces a previous signature of the same twin', () => {
  const d = dl([{ twin_id: 42, required: true, weight: 1 }]);
  const twice = sign(sign(d, 42, keys[44]!), 42, keys[42]!);
  assert.equal(twice.signature_requirement.signatures.length, 1);
  assert.equal(d.signature_requirement.signatures.length, 0, 'input is not mutated');
});
