/**
 * RMB `Envelope` codec (reference §2). Hand-written so that the field order matches the official TS client byte for byte (1-8, 12, 15, 16, 9, 10, 11, 13,
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
export const ENVELOPE_FIELDS = {
  uid: 1, tags: 2, timestamp: 3, expiration: 4, source: 5, destination: 6,
  request: 7, response: 8, signature: 9, schema: 10, federation: 11, error: 12,
  plain: 13, cipher: 14, ping: 15, pong: 16, relays: 17,
} as const;
const F = ENVELOPE_FIELDS;

const LEN = 2;
const VARINT = 0;

export class EnvelopeDecodeError extends Error {
  readonly code = 'ERR_BAD_ENVELOPE' as const;
}

function tag(field: number, wire: number): number {
  return ((field << 3) | wire) >>> 0;
}

/**
 * The encoder writes the frame straight into one buffer of its final size (two passes: sizes,
 * then bytes), in the field order and presence rules above. It replaced protobufjs' Writer, whose
 * forks and 64-bit varints cost 3.5 µs an envelope, twice per round trip.
 */
function varintSize(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Bytes of a length-delimited field whose content is `len` bytes (tags here are one byte, fields < 16; relays' is two). */
function ldSize(field: number, len: number): number {
  return varintSize(tag(field, LEN)) + varintSize(len) + len;
}

/**
 * UTF-8 length, natively. A loop over charCodeAt, which this replaced, met strings of several
 * internal kinds (a request's uid is built by concatenation, a reply's sliced from a frame,
 * commands are literals) and V8 then looked `charCodeAt` up through its generic load IC at every
 * character: ~2.5 µs more an envelope than these native calls (bench/parts/rmb-profile.ts).
 */
function utf8Size(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

function addressSize(a: Address): number {
  return (a.twin ? 1 + varintSize(a.twin >>> 0) : 0) + (a.connection !== undefined ? ldSize(2, utf8Size(a.connection)) : 0);
}

function messageSize(m: Message): number {
  if (m.kind === 'request') return m.command ? ldSize(1, utf8Size(m.command)) : 0;
  if (m.kind === 'error') return (m.code ? 1 + varintSize(m.code >>> 0) : 0) + (m.message ? ldSize(2, utf8Size(m.message)) : 0);
  return 0;
}

/** Node's native UTF-8 writing and slicing (what Buffer#write and #toString call after their argument checks). */
const utf8Write = (Buffer.prototype as unknown as { utf8Write(this: Buffer, s: string, offset: number, length: number): number }).utf8Write;
/** Takes any Uint8Array: the frame being decoded need not be a Buffer. */
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice(this: Uint8Array, start: number, end: number): string }).utf8Slice;

const MESSAGE_FIELD = { request: F.request, response: F.response, error: F.error, ping: F.ping, pong: F.pong } as const;

class FrameWriter {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  varint(v: number): this {
    while (v >= 128) {
      this.buf[this.pos++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
    return this;
  }

  /** A length-delimited field's tag and length; its content follows. */
  ld(field: number, len: number): this {
    return this.varint(tag(field, LEN)).varint(len);
  }

  string(field: number, s: string): void {
    const len = utf8Size(s);
    this.ld(field, len);
    this.pos += utf8Write.call(this.buf, s, this.pos, len);
  }

  bytes(field: number, b: Uint8Array): void {
    this.ld(field, b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  address(field: number, a: Address): void {
    this.ld(field, addressSize(a));
    if (a.twin) this.varint(tag(1, VARINT)).varint(a.twin >>> 0);
    if (a.connection !== undefined) this.string(2, a.connection);
  }

  message(m: Message): void {
    this.ld(MESSAGE_FIELD[m.kind], messageSize(m));
    if (m.kind === 'request' && m.command) this.string(1, m.command);
    if (m.kind === 'error') {
      if (m.code) this.varint(tag(1, VARINT)).varint(m.code >>> 0);
      if (m.message) this.string(2, m.message);
    }
  }
}

export function encodeEnvelope(e: Envelope): Uint8Array {
  const m = e.message;
  let size = 0;
  if (e.uid) size += ldSize(F.uid, utf8Size(e.uid));
  if (e.tags !== undefined) size += ldSize(F.tags, utf8Size(e.tags));
  if (e.timestamp) size += 1 + varintSize(e.timestamp);
  if (e.expiration) size += 1 + varintSize(e.expiration);
  if (e.source) size += ldSize(F.source, addressSize(e.source));
  if (e.destination) size += ldSize(F.destination, addressSize(e.destination));
  if (m) size += ldSize(MESSAGE_FIELD[m.kind], messageSize(m));
  if (e.signature !== undefined) size += ldSize(F.signature, e.signature.length);
  if (e.schema !== undefined) size += ldSize(F.schema, utf8Size(e.schema));
  if (e.federation !== undefined) size += ldSize(F.federation, utf8Size(e.federation));
  if (e.payload) size += ldSize(F.plain, e.payload.data.length);
  for (const r of e.relays) size += ldSize(F.relays, utf8Size(r));

  const w = new FrameWriter(Buffer.allocUnsafe(size));
  if (e.uid) w.string(F.uid, e.uid);
  if (e.tags !== undefined) w.string(F.tags, e.tags);
  if (e.timestamp) w.varint(tag(F.timestamp, VARINT)).varint(e.timestamp);
  if (e.expiration) w.varint(tag(F.expiration, VARINT)).varint(e.expiration);
  if (e.source) w.address(F.source, e.source);
  if (e.destination) w.address(F.destination, e.destination);
  if (m) w.message(m);
  if (e.signature !== undefined) w.bytes(F.signature, e.signature);
  if (e.schema !== undefined) w.string(F.schema, e.schema);
  if (e.federation !== undefined) w.string(F.federation, e.federation);
  if (e.payload) w.bytes(e.payload.kind === 'plain' ? F.plain : F.cipher, e.payload.data);
  for (const r of e.relays) w.string(F.relays, r);
  return w.buf;
}


/**
 * The decoder reads a frame in one pass with no reader objects: each nested message (address,
 * request, error) is read in place within its bounds, strings are sliced from the frame by the
 * native UTF-8 decoder, and byte fields are views into the frame. protobufjs' Reader, which it
 * replaced, allocated about 2 KB a frame (a reader and closures per nested message, a Buffer view
 * per field), a few µs of each hop of a round trip. Its rules are protobufjs': unknown fields
 * (groups too) are skipped, a varint read as 32 bits keeps its low 32 bits, a 64-bit one is
 * lo + hi x 2^32, and the last of a repeated singular field wins.
 */
class WireReader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  private byte(end: number): number {
    if (this.pos >= end) throw new EnvelopeDecodeError(`truncated at byte ${this.pos}`);
    return this.buf[this.pos++]!;
  }

  /** A varint's low 32 bits (protobufjs' uint32: up to 10 bytes). */
  uint32(end: number): number {
    let v = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      const b = this.byte(end);
      if (shift < 32) v = (v | ((b & 127) << shift)) >>> 0;
      if (b < 128) return v;
    }
    throw new EnvelopeDecodeError('invalid varint encoding');
  }

  /** A uint64 varint as a number: lo + hi x 2^32, as protobufjs' LongBits gives it. */
  uint64(end: number): number {
    let lo = 0;
    let hi = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      const b = this.byte(end);
      if (shift < 28) lo = (lo | ((b & 127) << shift)) >>> 0;
      else if (shift === 28) {
        lo = (lo | ((b & 127) << 28)) >>> 0;
        hi = (b & 127) >>> 4;
      } else hi = (hi | ((b & 127) << (shift - 32))) >>> 0;
      if (b < 128) return lo + hi * 4294967296;
    }
    throw new EnvelopeDecodeError('invalid varint encoding');
  }

  /** A length-delimited field's bounds: it starts at `pos`, the end is returned. */
  length(end: number): number {
    const len = this.uint32(end);
    if (len > end - this.pos) throw new EnvelopeDecodeError(`field of ${len} bytes past the end`);
    return this.pos + len;
  }

  string(end: number): string {
    const stop = this.length(end);
    const start = this.pos;
    this.pos = stop;
    return utf8Slice.call(this.buf, start, stop);
  }

  bytes(end: number): Uint8Array {
    const stop = this.length(end);
    const start = this.pos;
    this.pos = stop;
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset + start, stop - start);
  }

  /** A field's tag: [field, wire]. */
  tag(end: number): number {
    const t = this.uint32(end);
    if (t >>> 3 === 0) throw new EnvelopeDecodeError('invalid field number 0');
    return t;
  }

  skip(wire: number, field: number, end: number, depth = 0): void {
    if (wire === VARINT) {
      // As protobufjs skips it: any length, up to the last byte without the continuation bit.
      while (this.byte(end) >= 128);
    }
    else if (wire === LEN) this.pos = this.length(end);
    else if (wire === 1 || wire === 5) {
      const n = wire === 1 ? 8 : 4;
      if (n > end - this.pos) throw new EnvelopeDecodeError(`truncated at byte ${this.pos}`);
      this.pos += n;
    } else if (wire === 3) {
      if (depth > 32) throw new EnvelopeDecodeError('groups nested too deep');
      for (;;) {
        const t = this.tag(end);
        if ((t & 7) === 4) {
          if (t >>> 3 !== field) throw new EnvelopeDecodeError('invalid end group tag');
          return;
        }
        this.skip(t & 7, t >>> 3, end, depth + 1);
      }
    } else throw new EnvelopeDecodeError(`invalid wire type ${wire} at byte ${this.pos}`);
  }

  /** Reads a nested message (field `field`): `each` reads the fields it knows (true), the others are skipped. */
  nested(field: number, wire: number, end: number, each: (field: number, wire: number, end: number) => boolean): void {
    expectWire(field, wire, LEN);
    const stop = this.length(end);
    while (this.pos < stop) {
      const t = this.tag(stop);
      if (!each(t >>> 3, t & 7, stop)) this.skip(t & 7, t >>> 3, stop);
    }
  }
}

function expectWire(field: number, wire: number, want: number): void {
  if (wire !== want) throw new EnvelopeDecodeError(`field ${field}: wire type ${wire}, want ${want}`);
}

/** An Address or an Error: both a uint32 as field 1 and a string as field 2 (undefined when absent). */
function readNumberAndText(r: WireReader, field: number, wire: number, end: number): { n: number; text: string | undefined } {
  const out = { n: 0, text: undefined as string | undefined };
  r.nested(field, wire, end, (f, w, stop) => {
    if (f === 1) {
      expectWire(f, w, VARINT);
      out.n = r.uint32(stop);
    } else if (f === 2) {
      expectWire(f, w, LEN);
      out.text = r.string(stop);
    } else return false;
    return true;
  });
  return out;
}

function readAddress(r: WireReader, field: number, wire: number, end: number): Address {
  const { n, text } = readNumberAndText(r, field, wire, end);
  return text === undefined ? { twin: n } : { twin: n, connection: text };
}

function readRequest(r: WireReader, wire: number, end: number): Message {
  let command = '';
  r.nested(F.request, wire, end, (f, w, stop) => {
    if (f !== 1) return false;
    expectWire(f, w, LEN);
    command = r.string(stop);
    return true;
  });
  return { kind: 'request', command };
}

function readError(r: WireReader, wire: number, end: number): Message {
  const { n, text } = readNumberAndText(r, F.error, wire, end);
  return { kind: 'error', code: n, message: text ?? '' };
}

/** An empty message (response, ping, pong): its contents, if any, are skipped unread, as protobufjs did. */
function readEmpty(r: WireReader, field: number, wire: number, end: number, kind: 'response' | 'ping' | 'pong'): Message {
  expectWire(field, wire, LEN);
  r.pos = r.length(end);
  return { kind };
}

/** Decodes one frame; throws EnvelopeDecodeError on anything that is not a valid Envelope. */
export function decodeEnvelope(buf: Uint8Array): Envelope {
  const e: Envelope = { uid: '', timestamp: 0, expiration: 0, relays: [] };
  const r = new WireReader(buf);
  const end = buf.length;
  while (r.pos < end) {
    const t = r.tag(end);
    const f = t >>> 3;
    const wire = t & 7;
    switch (f) {
      case F.uid: expectWire(f, wire, LEN); e.uid = r.string(end); break;
      case F.tags: expectWire(f, wire, LEN); e.tags = r.string(end); break;
      case F.timestamp: expectWire(f, wire, VARINT); e.timestamp = r.uint64(end); break;
      case F.expiration: expectWire(f, wire, VARINT); e.expiration = r.uint64(end); break;
      case F.source: e.source = readAddress(r, f, wire, end); break;
      case F.destination: e.destination = readAddress(r, f, wire, end); break;
      case F.request: e.message = readRequest(r, wire, end); break;
      case F.response: e.message = readEmpty(r, f, wire, end, 'response'); break;
      case F.error: e.message = readError(r, wire, end); break;
      case F.ping: e.message = readEmpty(r, f, wire, end, 'ping'); break;
      case F.pong: e.message = readEmpty(r, f, wire, end, 'pong'); break;
      case F.signature: expectWire(f, wire, LEN); e.signature = r.bytes(end); break;
      case F.schema: expectWire(f, wire, LEN); e.schema = r.string(end); break;
      case F.federation: expectWire(f, wire, LEN); e.federation = r.string(end); break;
      case F.plain: expectWire(f, wire, LEN); e.payload = { kind: 'plain', data: r.bytes(end) }; break;
      case F.cipher: expectWire(f, wire, LEN); e.payload = { kind: 'cipher', data: r.bytes(end) }; break;
      case F.relays: expectWire(f, wire, LEN); e.relays.push(r.string(end)); break;
      default: r.skip(wire, f, end);
    }
  }
  return e;
}

/** Session key as the relay and peers spell it: "twin" or "twin:sid". */
export function addressKey(a: Address): string {
  return a.connection === undefined ? `${a.twin}` : `${a.twin}:${a.connection}`;
}

export function sameAddress(a: Address | undefined, b: Address | undefined): boolean {
  if (!a || !b) return false;
  return a.twin === b.twin && a.connection === b.connection;
}
