import assert from 'node:assert/strict';
import { test } from 'node:test';
import { challenge } from '../../relay-client/challenge.ts';
import { decodeEnvelope, encodeEnvelope, EnvelopeDecodeError, type Envelope } from '../../rmb/envelope.ts';
import { createIdentity } from '../../relay-client/identity.ts';
import { signPrefixed, verifyPrefixed } from '../../rmb/signature.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ascii = (s: string) => Buffer.from(s, 'ascii').toString('hex');
const MNEMONIC_A = 'bottom drive obey lake curtain smoke basket hold race lonely fit walk';

// Reference §9: the request frame from twin 7 (sid abcdefghij) to twin 42, with plain payload.
const frame9: Envelope = {
  uid: '11111111-2222-3333-4444-555555555555',
  tags: '',
  timestamp: 1700000000,
  expiration: 20,
  source: { twin: 7, connection: 'abcdefghij' },
  destination: { twin: 42 },
  message: { kind: 'request', command: 'zos.statistics.get' },
  schema: 'application/json',
  payload: { kind: 'plain', data: Buffer.from('{"a":1}') },
  relays: ['relay.dev.grid.tf'],
};

test('challenge: §9 request hashes to d68ec43baaf2eea1bc72429ce8e7d417', () => {
  assert.equal(Buffer.from(challenge(frame9)).toString('hex'), 'd68ec43baaf2eea1bc72429ce8e7d417');
});

test('challenge: signature field does not change the digest', () => {
  const signed = { ...frame9, signature: new Uint8Array(65).fill(9) };
  assert.deepEqual(challenge(signed), challenge(frame9));
});

test('encode: §9 signed request is the 204-byte frame', async () => {
  const id = await createIdentity(MNEMONIC_A, 'sr25519');
  const signature = signPrefixed(id, challenge(frame9));
  const bytes = Buffer.from(encodeEnvelope({ ...frame9, signature }));
  assert.equal(bytes.length, 204);
  const prefix = hex(
    `0a24${ascii(frame9.uid)} 1200 1880e2cfaa06 2014 2a0e0807120a${ascii('abcdefghij')} 32 02 08 2a` +
      `3a140a12${ascii('zos.statistics.get')} 4a41 73`,
  );
  const suffix = hex(`5210${ascii('application/json')} 6a07${ascii('{"a":1}')} 8a0111${ascii('relay.dev.grid.tf')}`);
  assert.deepEqual(bytes.subarray(0, prefix.length), prefix);
  assert.deepEqual(bytes.subarray(bytes.length - suffix.length), suffix);
  assert.deepEqual(bytes.subarray(prefix.length - 1, prefix.length + 64), Buffer.from(signature));
  const back = decodeEnvelope(bytes);
  assert.ok(verifyPrefixed(back.signature, challenge(back), id.accountId));
});

// Reference §5: the TS client's app-level ping, byte for byte (uid "p").
const pingBytes = hex(
  `0a0170 1200 1880e2cfaa06 2028 2a0e0807120a${ascii('abcdefghij')} 3200 7a00 4a00 5210${ascii('application/json')}`,
);
const ping: Envelope = {
  uid: 'p',
  tags: '',
  timestamp: 1700000000,
  expiration: 40,
  source: { twin: 7, connection: 'abcdefghij' },
  destination: { twin: 0 },
  message: { kind: 'ping' },
  signature: new Uint8Array(0),
  schema: 'application/json',
  relays: [],
};

test('encode: TS client ping envelope bytes match §5', () => {
  assert.deepEqual(Buffer.from(encodeEnvelope(ping)), pingBytes);
});

test('decode: accepts the TS ping with empty tags and empty signature', () => {
  const e = decodeEnvelope(pingBytes);
  assert.deepEqual(e, { ...ping, signature: new Uint8Array(0) });
  assert.equal(e.tags, '');
  assert.equal(e.signature?.length, 0);
});

const roundTrips: { name: string; env: Envelope }[] = [
  { name: 'response with cipher', env: { uid: 'u', timestamp: 1, expiration: 300, source: { twin: 42 }, destination: { twin: 7, connection: 's' }, message: { kind: 'response' }, schema: 'application/json', payload: { kind: 'cipher', data: new Uint8Array([1, 2, 3]) }, relays: ['a', 'b'], federation: 'x' } },
  { name: 'error', env: { uid: 'u', timestamp: 5, expiration: 300, destination: { twin: 7 }, message: { kind: 'error', code: 104, message: 'bad' }, relays: [] } },
  { name: 'pong with plain', env: { uid: 'u', timestamp: 5, expiration: 40, source: { twin: 0 }, destination: { twin: 7 }, message: { kind: 'pong' }, payload: { kind: 'plain', data: new TextEncoder().encode('hello world') }, relays: [] } },
  { name: 'large timestamp', env: { uid: 'u', timestamp: 2 ** 40, expiration: 2 ** 33, relays: [] } },
];
for (const tc of roundTrips) {
  test(`decode: round-trips ${tc.name}`, () => {
    const back = decodeEnvelope(encodeEnvelope(tc.env));
    assert.deepEqual(
      JSON.parse(JSON.stringify(back, (_k, v) => (v instanceof Uint8Array ? [...v] : v))),
      JSON.parse(JSON.stringify(tc.env, (_k, v) => (v instanceof Uint8Array ? [...v] : v))),
    );
  });
}

test('encode: the response oneof is written even though it is empty (42 00)', () => {
  const bytes = Buffer.from(encodeEnvelope({ uid: '', timestamp: 0, expiration: 0, message: { kind: 'response' }, relays: [] }));
  assert.equal(bytes.toString('hex'), '4200');
});

test('decode: skips unknown fields', () => {
  const bytes = Buffer.concat([hex('0a0175'), hex('a00601'), hex('f2070161')]);
  assert.equal(decodeEnvelope(bytes).uid, 'u');
});

const garbage: { name: string; bytes: Buffer }[] = [
  { name: 'truncated length', bytes: hex('0a05ab') },
  { name: 'field number 0', bytes: hex('0001') },
  { name: 'wrong wire type for uid', bytes: hex('0801') },
  { name: 'invalid wire type', bytes: hex('0f') },
  { name: 'truncated varint', bytes: hex('18ff') },
];
for (const tc of garbage) {
  test(`decode: rejects ${tc.name} with EnvelopeDecodeError`, () => {
    assert.throws(() => decodeEnvelope(tc.bytes), EnvelopeDecodeError);
  });
}
