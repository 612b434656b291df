import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { challenge } from '../../relay-client/challenge.ts';
import { decodeEnvelope, encodeEnvelope, type Envelope } from '../../rmb/envelope.ts';
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
