import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import protobuf from 'protobufjs/minimal.js';
import { decodeEnvelope, encodeEnvelope, ENVELOPE_FIELDS, type Address, type Envelope, type Message } from '../../rmb/envelope.ts';

/**
 * rmb/envelope's encoder writes frames by hand (one buffer, two passes). It must give the bytes
 * protobufjs' Writer gave, field order and proto3 presence included (the byte vectors of the
 * official client are in envelope.test.ts): the Writer-based encoder it replaced is kept here as
 * the reference, and both encode arbitrary envelopes.
 */
const F = ENVELOPE_FIELDS;
const LEN = 2;
const VARINT = 0;
const tag = (field: number, wire: number) => ((field << 3) | wire) >>> 0;

/** Writes an Address as the length-delimited field `field` (fork/ldelim: no buffer of its own). */
function writeAddress(w: protobuf.Writer, field: number, a: Address): void {
  w.uint32(tag(field, LEN)).fork();
  if (a.twin) w.uint32(tag(1, VARINT)).uint32(a.twin);
  if (a.connection !== undefined) w.uint32(tag(2, LEN)).string(a.connection);
  w.ldelim();
}

const EMPTY = new Uint8Array(0);

function referenceEncode(e: Envelope): Uint8Array {
  const w = protobuf.Writer.create();
  if (e.uid) w.uint32(tag(F.uid, LEN)).string(e.uid);
  if (e.tags !== undefined) w.uint32(tag(F.tags, LEN)).string(e.tags);
  if (e.timestamp) w.uint32(tag(F.timestamp, VARINT)).uint64(e.timestamp);
  if (e.expiration) w.uint32(tag(F.expiration, VARINT)).uint64(e.expiration);
  if (e.source) writeAddress(w, F.source, e.source);
  if (e.destination) writeAddress(w, F.destination, e.destination);
  const m = e.message;
  if (m?.kind === 'request') {
    w.uint32(tag(F.request, LEN)).fork();
    if (m.command) w.uint32(tag(1, LEN)).string(m.command);
    w.ldelim();
  } else if (m?.kind === 'response') {
    w.uint32(tag(F.response, LEN)).bytes(EMPTY);
  } else if (m?.kind === 'error') {
    w.uint32(tag(F.error, LEN)).fork();
    if (m.code) w.uint32(tag(1, VARINT)).uint32(m.code);
    if (m.message) w.uint32(tag(2, LEN)).string(m.message);
    w.ldelim();
  } else if (m?.kind === 'ping') {
    w.uint32(tag(F.ping, LEN)).bytes(EMPTY);
  } else if (m?.kind === 'pong') {
    w.uint32(tag(F.pong, LEN)).bytes(EMPTY);
  }
  if (e.signature !== undefined) w.uint32(tag(F.signature, LEN)).bytes(e.signature);
  if (e.schema !== undefined) w.uint32(tag(F.schema, LEN)).string(e.schema);
  if (e.federation !== undefined) w.uint32(tag(F.federation, LEN)).string(e.federation);
  if (e.payload) w.uint32(tag(e.payload.kind === 'plain' ? F.plain : F.cipher, LEN)).bytes(e.payload.data);
  for (const r of e.relays) w.uint32(tag(F.relays, LEN)).string(r);
  return w.finish();
}


const text = fc.string({ unit: 'grapheme', maxLength: 24 });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const address: fc.Arbitrary<Address> = fc.record({ twin: u32, connection: text }, { requiredKeys: ['twin'] });
const message: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ kind: fc.constant('request' as const), command: text }),
  fc.constant({ kind: 'response' as const }),
  fc.record({ kind: fc.constant('error' as const), code: u32, message: text }),
  fc.constant({ kind: 'ping' as const }),
  fc.constant({ kind: 'pong' as const }),
);
const bytes = fc.uint8Array({ maxLength: 300 });
const envelope: fc.Arbitrary<Envelope> = fc.record(
  {
    uid: text, tags: text,
    timestamp: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 40 }), fc.maxSafeNat()),
    expiration: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 100_000 })),
    source: address, destination: address, message, signature: bytes, schema: text, federation: text,
    payload: fc.record({ kind: fc.constantFrom('plain' as const, 'cipher' as const), data: bytes }),
    relays: fc.array(text, { maxLength: 4 }),
  },
  { requiredKeys: ['uid', 'timestamp', 'expiration', 'relays'] },
);

test('encodeEnvelope: the same bytes as the protobufjs Writer encoder for arbitrary envelopes, and they decode back', () => {
  fc.assert(
    fc.property(envelope, (e) => {
      const got = encodeEnvelope(e);
      assert.deepEqual(Buffer.from(got), Buffer.from(referenceEncode(e)));
      assert.deepEqual(Buffer.from(encodeEnvelope(decodeEnvelope(got))), Buffer.from(got));
    }),
    { numRuns: 2_000 },
  );
});
