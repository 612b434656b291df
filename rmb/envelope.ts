import protobuf from 'protobufjs/minimal.js';

/**
 * RMB `Envelope` codec (reference §2). Hand-written over protobufjs' Writer/Reader so that
 * the field order matches the official TS client byte for byte (1-8, 12, 15, 16, 9, 10, 11, 13,
 * 14, 17) and proto3 presence is exact: `optional` fields and oneof members are written when
 * set, even empty (`12 00`, `4a 00`, `42 00`); implicit fields only when non-default.
 */

export interface Address {
  twin: number;
  connection?: string;
}

export type Message =
  | { kind: 'request'; command: string }
  | { kind: 'response' }
  | { kind: 'error'; code: number; message: string }
  | { kind: 'ping' }
  | { kind: 'pong' };

export type Payload = { kind: 'plain' | 'cipher'; data: Uint8Array };

export interface Envelope {
  uid: string;
  tags?: string;
  timestamp: number;
  expiration: number;
  source?: Address;
  destination?: Address;
  message?: Message;
  signature?: Uint8Array;
  schema?: string;
  federation?: string;
  payload?: Payload;
  relays: string[];
}

export const SCHEMA_JSON = 'application/json';

/** Field numbers from types.proto. */
const F = {
  uid: 1, tags: 2, timestamp: 3, expiration: 4, source: 5, destination: 6,
  request: 7, response: 8, signature: 9, schema: 10, federation: 11, error: 12,
  plain: 13, cipher: 14, ping: 15, pong: 16, relays: 17,
} as const;

const LEN = 2;
const VARINT = 0;

export class EnvelopeDecodeError extends Error {
  readonly code = 'ERR_BAD_ENVELOPE' as const;
}

function tag(field: number, wire: number): number {
  return ((field << 3) | wire) >>> 0;
}

/** Writes an Address as the length-delimited field `field` (fork/ldelim: no buffer of its own). */
function writeAddress(w: protobuf.Writer, field: number, a: Address): void {
  w.uint32(tag(field, LEN)).fork();
  if (a.twin) w.uint32(tag(1, VARINT)).uint32(a.twin);
  if (a.connection !== undefined) w.uint32(tag(2, LEN)).string(a.connection);
  w.ldelim();
}

const EMPTY = new Uint8Array(0);

export function encodeEnvelope(e: Envelope): Uint8Array {
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

type Reader = protobuf.Reader;

function u64(r: Reader): number {
  const v = r.uint64() as unknown;
  if (typeof v === 'number') return v;
  return protobuf.util.LongBits.from(v as protobuf.Long).toNumber(true);
}

/** Iterates the fields of one message, calling `on` for each; unknown fields are skipped. */
function forEachField(buf: Uint8Array, on: (field: number, wire: number, r: Reader) => boolean): void {
  const r = protobuf.Reader.create(buf);
  while (r.pos < r.len) {
    const t = r.uint32();
    const field = t >>> 3;
    const wire = t & 7;
    if (field === 0) throw new EnvelopeDecodeError('invalid field number 0');
    if (!on(field, wire, r)) r.skipType(wire);
  }
}

function expectWire(field: number, wire: number, want: number): void {
  if (wire !== want) throw new EnvelopeDecodeError(`field ${field}: wire type ${wire}, want ${want}`);
}

function decodeAddress(buf: Uint8Array): Address {
  const a: Address = { twin: 0 };
  forEachField(buf, (f, wire, r) => {
    if (f === 1) { expectWire(f, wire, VARINT); a.twin = r.uint32(); return true; }
    if (f === 2) { expectWire(f, wire, LEN); a.connection = r.string(); return true; }
    return false;
  });
  return a;
}

function decodeRequest(buf: Uint8Array): Message {
  let command = '';
  forEachField(buf, (f, wire, r) => {
    if (f === 1) { expectWire(f, wire, LEN); command = r.string(); return true; }
    return false;
  });
  return { kind: 'request', command };
}

function decodeError(buf: Uint8Array): Message {
  const m = { kind: 'error' as const, code: 0, message: '' };
  forEachField(buf, (f, wire, r) => {
    if (f === 1) { expectWire(f, wire, VARINT); m.code = r.uint32(); return true; }
    if (f === 2) { expectWire(f, wire, LEN); m.message = r.string(); return true; }
    return false;
  });
  return m;
}

/** Decodes one frame; throws EnvelopeDecodeError on anything that is not a valid Envelope. */
export function decodeEnvelope(buf: Uint8Array): Envelope {
  const e: Envelope = { uid: '', timestamp: 0, expiration: 0, relays: [] };
  try {
    forEachField(buf, (f, wire, r) => {
      switch (f) {
        case F.uid: expectWire(f, wire, LEN); e.uid = r.string(); return true;
        case F.tags: expectWire(f, wire, LEN); e.tags = r.string(); return true;
        case F.timestamp: expectWire(f, wire, VARINT); e.timestamp = u64(r); return true;
        case F.expiration: expectWire(f, wire, VARINT); e.expiration = u64(r); return true;
        case F.source: expectWire(f, wire, LEN); e.source = decodeAddress(r.bytes()); return true;
        case F.destination: expectWire(f, wire, LEN); e.destination = decodeAddress(r.bytes()); return true;
        case F.request: expectWire(f, wire, LEN); e.message = decodeRequest(r.bytes()); return true;
        case F.response: expectWire(f, wire, LEN); r.bytes(); e.message = { kind: 'response' }; return true;
        case F.error: expectWire(f, wire, LEN); e.message = decodeError(r.bytes()); return true;
        case F.ping: expectWire(f, wire, LEN); r.bytes(); e.message = { kind: 'ping' }; return true;
        case F.pong: expectWire(f, wire, LEN); r.bytes(); e.message = { kind: 'pong' }; return true;
        case F.signature: expectWire(f, wire, LEN); e.signature = view(r.bytes()); return true;
        case F.schema: expectWire(f, wire, LEN); e.schema = r.string(); return true;
        case F.federation: expectWire(f, wire, LEN); e.federation = r.string(); return true;
        case F.plain: expectWire(f, wire, LEN); e.payload = { kind: 'plain', data: view(r.bytes()) }; return true;
        case F.cipher: expectWire(f, wire, LEN); e.payload = { kind: 'cipher', data: view(r.bytes()) }; return true;
        case F.relays: expectWire(f, wire, LEN); e.relays.push(r.string()); return true;
        default: return false;
      }
    });
  } catch (err) {
    if (err instanceof EnvelopeDecodeError) throw err;
    throw new EnvelopeDecodeError(`invalid envelope: ${(err as Error).message}`);
  }
  return e;
}

/**
 * A plain Uint8Array over the same bytes (the reader hands out Buffer views into the frame):
 * no copy, as nothing writes to a received frame, and an envelope lives no longer than its frame's
 * handling.
 */
function view(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Session key as the relay and peers spell it: "twin" or "twin:sid". */
export function addressKey(a: Address): string {
  return a.connection === undefined ? `${a.twin}` : `${a.twin}:${a.connection}`;
}

export function sameAddress(a: Address | undefined, b: Address | undefined): boolean {
  if (!a || !b) return false;
  return a.twin === b.twin && a.connection === b.connection;
}
