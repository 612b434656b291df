import assert from 'node:assert/strict';
import { createDecipheriv } from 'node:crypto';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { challenge } from '../../relay-client/challenge.ts';
import { decodeEnvelope, encodeEnvelope, type Envelope } from '../../rmb/envelope.ts';
import { decrypt, encrypt, sharedKey } from '../../relay-client/e2e.ts';
import { createIdentity } from '../../relay-client/identity.ts';
import { signPrefixed } from '../../rmb/signature.ts';

/**
 * Offline cross-checks against the official npm client (@threefold/rmb_direct_client, a
 * devDependency): its generated protobuf classes decode our frames, and its challenge()
 * over them equals ours. No network, no chain.
 */
// The official dist does require('@noble/hashes/sha2') (a v1 path, not declared as its
// dependency); our hoisted @noble/hashes v2 only exports 'sha2.js'. Map that one name.
const Module = createRequire(import.meta.url)('node:module') as { _resolveFilename: (r: string, ...a: unknown[]) => string };
const resolve = Module._resolveFilename;
Module._resolveFilename = (request, ...rest) => resolve(request === '@noble/hashes/sha2' ? '@noble/hashes/sha2.js' : request, ...rest);
// Deep paths are not in the package's "exports"; load the files directly.
const require = createRequire(import.meta.url);
const dist = new URL('../../node_modules/@threefold/rmb_direct_client/dist/node/', import.meta.url).pathname;
type Official = {
  Envelope: { deserializeBinary(b: Uint8Array): { serializeBinary(): Uint8Array } & Record<string, unknown> };
};
const types = require(`${dist}types/lib/types.js`) as Official;
const ClientEnvelope = (require(`${dist}envelope.js`) as {
  default: new (signer: undefined, env: unknown, chainUrl: string, tfclient: unknown, twins: Map<number, unknown>) => { challenge(): Uint8Array };
}).default;

/** The official envelope's end-to-end cipher calls (mnemonic of self; peer's secp256k1 key as hex). */
type OfficialCipher = {
  encrypt(data: string, mnemonic: string, peerPkHex: string): Promise<Uint8Array>;
  decrypt(mnemonic: string): Promise<Uint8Array>;
  twin: { pk: string };
  cipher: Uint8Array;
};

const base = {
  uid: '11111111-2222-3333-4444-555555555555', tags: '', timestamp: 1700000000, expiration: 300,
  schema: 'application/json', relays: ['relay.dev.grid.tf'],
};
const cases: { name: string; env: Envelope }[] = [
  { name: 'request with cipher', env: { ...base, source: { twin: 7, connection: 'abcdefghij' }, destination: { twin: 42 }, message: { kind: 'request', command: 'zos.deployment.get' }, payload: { kind: 'cipher', data: new Uint8Array([1, 2, 3, 250]) } } },
  { name: 'Go-style response with federation', env: { ...base, source: { twin: 42 }, destination: { twin: 7, connection: 'abcdefghij' }, message: { kind: 'response' }, federation: 'relay.dev.grid.tf', payload: { kind: 'plain', data: new TextEncoder().encode('null') } } },
  { name: 'error reply', env: { ...base, source: { twin: 42 }, destination: { twin: 7 }, message: { kind: 'error', code: 0, message: 'function is not found' }, payload: { kind: 'plain', data: new TextEncoder().encode('null') } } },
];

for (const tc of cases) {
  test(`official client: decodes our ${tc.name} and computes the same challenge`, async () => {
    const id = await createIdentity('0x' + '2a'.repeat(32), 'ed25519');
    const env = { ...tc.env, signature: signPrefixed(id, challenge(tc.env)) };
    const bytes = encodeEnvelope(env);
    const theirs = types.Envelope.deserializeBinary(bytes);
    const wrapped = new ClientEnvelope(undefined, theirs, 'ws://unused', undefined, new Map());
    assert.equal(Buffer.from(wrapped.challenge()).toString('hex'), Buffer.from(challenge(env)).toString('hex'));
    // And their re-encoding decodes back to the same envelope on our side.
    assert.deepEqual(decodeEnvelope(theirs.serializeBinary()), decodeEnvelope(bytes));
  });
}

test('official client: its AES-GCM cipher decrypts on our side, ours on its side and with a bare createDecipheriv', async () => {
  const A = 'bottom drive obey lake curtain smoke basket hold race lonely fit walk';
  const B = 'tackle blouse grain dawn adult loyal tattoo price access tilt chimney silk';
  const [a, b] = [await createIdentity(A), await createIdentity(B)];
  const hex = (u: Uint8Array) => Buffer.from(u).toString('hex');
  const plain = '{"contract_id":42,"note":"é ✓"}';
  const wrapped = new ClientEnvelope(undefined, types.Envelope.deserializeBinary(new Uint8Array()), 'ws://unused', undefined, new Map()) as unknown as OfficialCipher;
  // theirs -> ours: A encrypts to B with the official client; B decrypts with ours
  const theirs = await wrapped.encrypt(plain, A, hex(b.secpPublic));
  assert.equal(Buffer.from(decrypt(sharedKey(b.secpSecret, a.secpPublic), theirs)).toString(), plain);
  // ours -> theirs: A encrypts to B with ours; the official client decrypts as B
  const ours = encrypt(sharedKey(a.secpSecret, b.secpPublic), Buffer.from(plain));
  wrapped.twin = { pk: hex(a.secpPublic) };
  wrapped.cipher = ours;
  assert.equal(Buffer.from(await wrapped.decrypt(B)).toString(), plain);
  // ours with node:crypto alone, reading the documented layout nonce(12) | ciphertext | tag(16)
  const d = createDecipheriv('aes-256-gcm', sharedKey(b.secpSecret, a.secpPublic), ours.subarray(0, 12));
  d.setAuthTag(ours.subarray(ours.length - 16));
  assert.equal(Buffer.concat([d.update(ours.subarray(12, ours.length - 16)), d.final()]).toString(), plain);
});
