import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import protobuf from 'protobufjs/minimal.js';
import { decodeEnvelope, encodeEnvelope, ENVELOPE_FIELDS, EnvelopeDecodeError, type Address, type Envelope, type Message } from '../../rmb/envelope.ts';

/**
 * rmb/envelope's codec is written by hand: the encoder writes frames into one buffer in two
 * passes, the decoder reads them in one pass without reader objects. The encoder must give the
 * bytes protobufjs' Writer gave, field order and proto3 presence included (the byte vectors of
 * the official client are in envelope.test.ts), and the decoder must read any bytes as the
 * decoder over protobufjs' Reader did (the same envelope, or an error for both): the
 * protobufjs-based encoder and decoder they replaced are kept here as the references.
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

/** The decoder over protobufjs' Reader that rmb/envelope's replaced (a Buffer, so strings use Node's UTF-8 decoder). */
function referenceDecode(bytes: Uint8Array): Envelope {
  const view = (b: Uint8Array) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  const u64 = (r: protobuf.Reader) => {
    const v = r.uint64() as unknown;
    return typeof v === 'number' ? v : protobuf.util.LongBits.from(v as protobuf.Long).toNumber(true);
  };
  const fields = (buf: Uint8Array, on: (field: number, wire: number, r: protobuf.Reader) => boolean) => {
    const r = protobuf.Reader.create(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
    while (r.pos < r.len) {
      const t = r.uint32();
      if (t >>> 3 === 0) throw new Error('field 0');
      // With its field number, so that a group must end with its own field's end tag (as ours checks).
      if (!on(t >>> 3, t & 7, r)) r.skipType(t & 7, 0, t >>> 3);
    }
  };
  const want = (wire: number, w: number) => {
    if (wire !== w) throw new Error('wire type');
  };
  const address = (buf: Uint8Array): Address => {
    const a: Address = { twin: 0 };
    fields(buf, (f, w, r) => {
      if (f === 1) return want(w, VARINT), (a.twin = r.uint32()), true;
      if (f === 2) return want(w, LEN), (a.connection = r.string()), true;
      return false;
    });
    return a;
  };
  const e: Envelope = { uid: '', timestamp: 0, expiration: 0, relays: [] };
  fields(bytes, (f, w, r) => {
    if (f !== F.timestamp && f !== F.expiration && f <= F.relays) want(w, LEN);
    else if (f <= F.relays) want(w, VARINT);
    switch (f) {
      case F.uid: e.uid = r.string(); return true;
      case F.tags: e.tags = r.string(); return true;
      case F.timestamp: e.timestamp = u64(r); return true;
      case F.expiration: e.expiration = u64(r); return true;
      case F.source: e.source = address(r.bytes()); return true;
      case F.destination: e.destination = address(r.bytes()); return true;
      case F.request: {
        let command = '';
        fields(r.bytes(), (g, w2, r2) => (g === 1 ? (want(w2, LEN), (command = r2.string()), true) : false));
        e.message = { kind: 'request', command };
        return true;
      }
      case F.error: {
        const m = { kind: 'error' as const, code: 0, message: '' };
        fields(r.bytes(), (g, w2, r2) => {
          if (g === 1) return want(w2, VARINT), (m.code = r2.uint32()), true;
          if (g === 2) return want(w2, LEN), (m.message = r2.string()), true;
          return false;
        });
        e.message = m;
        return true;
      }
      case F.response: r.bytes(); e.message = { kind: 'response' }; return true;
      case F.ping: r.bytes(); e.message = { kind: 'ping' }; return true;
      case F.pong: r.bytes(); e.message = { kind: 'pong' }; return true;
      case F.signature: e.signature = view(r.bytes()); return true;
      case F.schema: e.schema = r.string(); return true;
      case F.federation: e.federation = r.string(); return true;
      case F.plain: e.payload = { kind: 'plain', data: view(r.bytes()) }; return true;
      case F.cipher: e.payload = { kind: 'cipher', data: view(r.bytes()) }; return true;
      case F.relays: e.relays.push(r.string()); return true;
      default: return false;
    }
  });
  return e;
}

/** Both decoders on `bytes`: the same envelope, or both refuse it (ours with EnvelopeDecodeError). */
function sameDecoding(bytes: Uint8Array): void {
  let want: Envelope | Error;
  try {
    want = referenceDecode(bytes);
  } catch (err) {
    want = err as Error;
  }
  if (want instanceof Error) {
    assert.throws(() => decodeEnvelope(bytes), EnvelopeDecodeError, `reference refused: ${want.message}`);
    return;
  }
  assert.deepEqual(decodeEnvelope(bytes), want);
}

/** Wire pieces the encoder never writes: unknown fields of every wire type, groups, repeats, long varints. */
const oddField = fc.oneof(
  fc.tuple(fc.integer({ min: 18, max: 200 }), fc.uint8Array({ maxLength: 12 })).map(([f, b]) => [...varint(tag(f, LEN)), ...varint(b.length), ...b]),
  fc.tuple(fc.integer({ min: 18, max: 200 }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })).map(([f, v]) => [...varint(tag(f, VARINT)), ...varint(v)]),
  fc.tuple(fc.integer({ min: 18, max: 200 }), fc.constantFrom(1, 5)).map(([f, w]) => [...varint(tag(f, w)), ...new Array(w === 1 ? 8 : 4).fill(7)]),
  fc.integer({ min: 18, max: 200 }).map((f) => [...varint(tag(f, 3)), ...varint(tag(f + 1, VARINT)), 5, ...varint(tag(f, 4))]),
  fc.tuple(fc.constantFrom(F.timestamp, F.expiration), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })).map(([f, v]) => [...varint(tag(f, VARINT)), ...varint(v)]),
  fc.tuple(fc.constantFrom(F.source, F.destination), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })).map(([f, v]) => {
    const inner = [...varint(tag(1, VARINT)), ...varint(v)];
    return [...varint(tag(f, LEN)), inner.length, ...inner];
  }),
  fc.uint8Array({ minLength: 1, maxLength: 6 }).map((b) => [...b]),
);

function varint(v: number | bigint): number[] {
  let n = BigInt(v);
  const out: number[] = [];
  while (n >= 128n) {
    out.push(Number(n % 128n) | 128);
    n /= 128n;
  }
  out.push(Number(n));
  return out;
}

test('decodeEnvelope: reads arbitrary bytes as the protobufjs Reader decoder did (valid frames, odd fields, random edits)', () => {
  fc.assert(
    fc.property(envelope, fc.array(fc.tuple(fc.nat(), oddField), { maxLength: 4 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }), (e, odd, edits) => {
      const bytes = [...encodeEnvelope(e)];
      sameDecoding(Uint8Array.from(bytes));
      for (const [at, piece] of odd) bytes.splice(at % (bytes.length + 1), 0, ...piece);
      sameDecoding(Uint8Array.from(bytes));
      for (const [at, v] of edits) bytes[at % bytes.length] = v;
      sameDecoding(Uint8Array.from(bytes));
    }),
    { numRuns: 2_000 },
  );
});
