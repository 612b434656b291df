import { fromBufferToBase58, getSs58AddressInfo } from '@polkadot-api/substrate-bindings';
import { ChainError, ChainErrorCode } from './errors.ts';

/**
 * SCALE driven by the runtime's own type registry (metadata V14 `lookup`), pure and without
 * I/O. Values come out in the JSON shape polkadot-js' `Codec.toJSON()` gives (camelCase struct
 * keys, hex for byte arrays, a variant's name for an enum of unit variants, `{variant: value}`
 * otherwise, null for None, numbers for integers up to 52 bits and full-width hex above), so the
 * zod views in codec.ts read our decoding and polkadot-js' alike. Encoding takes the same shape
 * (and Uint8Array for bytes, bigint for integers, a `Call` for a runtime call).
 */

export type LookupEntry = {
  id: number;
  path: string[];
  def:
    | { tag: 'composite'; value: Field[] }
    | { tag: 'variant'; value: Array<{ name: string; fields: Field[]; index: number; docs: string[] }> }
    | { tag: 'sequence'; value: number }
    | { tag: 'array'; value: { len: number; type: number } }
    | { tag: 'tuple'; value: number[] }
    | { tag: 'primitive'; value: { tag: string } }
    | { tag: 'compact'; value: number }
    | { tag: 'bitSequence'; value: unknown };
};
export type Field = { name: string | undefined; type: number; typeName: string | undefined };

/** tfchain addresses use the generic substrate prefix. */
export const SS58_FORMAT = 42;
const ss58 = fromBufferToBase58(SS58_FORMAT);

/** A runtime call by its polkadot-js names (`tfgridModule`, `createTwin`) with positional args. */
export class Call {
  constructor(
    readonly section: string,
    readonly method: string,
    readonly args: readonly unknown[],
  ) {}
}

/** polkadot-js' stringCamelCase for the names metadata uses (snake_case fields, PascalCase variants). */
export function camelCase(name: string): string {
  return name
    .split(/[_\s-]+/)
    .filter(Boolean)
    .map((part, i) => {
      if (i > 0) return part[0]!.toUpperCase() + part.slice(1);
      // A leading capital run: "ABCDef" -> "abcDef", "ABC" -> "abc".
      const run = /^[A-Z]+/.exec(part)?.[0].length ?? 0;
      const lower = run > 1 && run < part.length ? run - 1 : run;
      return part.slice(0, lower).toLowerCase() + part.slice(lower);
    })
    .join('');
}

export function toHex(bytes: Uint8Array): `0x${string}` {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`;
}

export function fromHex(hex: string): Uint8Array {
  if (!/^0x([0-9a-fA-F]{2})*$/.test(hex)) throw new ChainError(ChainErrorCode.badInput, `not 0x-prefixed hex bytes: ${hex.slice(0, 20)}`);
  return new Uint8Array(Buffer.from(hex.slice(2), 'hex'));
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** The 32-byte account of an SS58 address (any prefix) or a 0x account id. */
export function accountBytes(v: string | Uint8Array): Uint8Array {
  if (v instanceof Uint8Array) {
    if (v.length === 32) return v;
  } else if (v.startsWith('0x')) {
    const b = fromHex(v);
    if (b.length === 32) return b;
  } else {
    const info = getSs58AddressInfo(v);
    if (info.isValid && info.publicKey.length === 32) return info.publicKey;
  }
  throw new ChainError(ChainErrorCode.badInput, `not an account id: ${typeof v === 'string' ? v : toHex(v)}`);
}

export function ss58Encode(account: Uint8Array): string {
  return ss58(account.slice());
}

export class Reader {
  pos = 0;
  constructor(readonly bytes: Uint8Array) {}

  take(n: number): Uint8Array {
    if (this.pos + n > this.bytes.length) throw new ChainError(ChainErrorCode.decode, `SCALE: ${n} bytes wanted at ${this.pos} of ${this.bytes.length}`);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  u8(): number {
    return this.take(1)[0]!;
  }

  /** Little-endian unsigned of `n` bytes. */
  uint(n: number): bigint {
    const b = this.take(n);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    return v;
  }

  compact(): bigint {
    const first = this.bytes[this.pos];
    if (first === undefined) throw new ChainError(ChainErrorCode.decode, 'SCALE: compact past the end');
    switch (first & 3) {
      case 0:
        return BigInt(this.u8() >> 2);
      case 1:
        return this.uint(2) >> 2n;
      case 2:
        return this.uint(4) >> 2n;
      default:
        this.pos++;
        return this.uint((first >> 2) + 4);
    }
  }

  length(): number {
    const n = this.compact();
    if (n > BigInt(this.bytes.length - this.pos) * 8n + 64n) throw new ChainError(ChainErrorCode.decode, `SCALE: length ${n} past the end`);
    return Number(n);
  }
}

export class Writer {
  private chunks: Uint8Array[] = [];

  bytes(b: Uint8Array): this {
    this.chunks.push(b);
    return this;
  }

  u8(v: number): this {
    return this.bytes(Uint8Array.of(v));
  }

  uint(v: bigint, n: number): this {
    if (v < 0n || v >= 1n << BigInt(n * 8)) throw new ChainError(ChainErrorCode.badInput, `integer ${v} does not fit u${n * 8}`);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++, v >>= 8n) out[i] = Number(v & 0xffn);
    return this.bytes(out);
  }

  compact(v: bigint | number): this {
    const n = BigInt(v);
    if (n < 0n) throw new ChainError(ChainErrorCode.badInput, `compact of a negative ${n}`);
    if (n < 1n << 6n) return this.u8(Number(n) << 2);
    if (n < 1n << 14n) return this.uint((n << 2n) | 1n, 2);
    if (n < 1n << 30n) return this.uint((n << 2n) | 2n, 4);
    let len = 0;
    for (let m = n; m > 0n; m >>= 8n) len++;
    return this.u8(((len - 4) << 2) | 3).uint(n, len);
  }

  done(): Uint8Array {
    return Buffer.concat(this.chunks);
  }
}

const INT_BYTES: Record<string, number> = { u8: 1, u16: 2, u32: 4, u64: 8, u128: 16, u256: 32, i8: 1, i16: 2, i32: 4, i64: 8, i128: 16, i256: 32 };

function intJson(v: bigint, width: number): number | string {
  // polkadot-js gives a number up to 52 bits and full-width big-endian hex above.
  if (v.toString(2).length <= 52) return Number(v);
  return `0x${v.toString(16).padStart(width * 2, '0')}`;
}

function toBigInt(v: unknown, what: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^(0x[0-9a-fA-F]*|\d+)$/.test(v)) return BigInt(v === '0x' ? 0 : v);
  if (typeof v === 'boolean') return v ? 1n : 0n;
  throw new ChainError(ChainErrorCode.badInput, `${what}: expected an integer, got ${JSON.stringify(v)}`);
}

function bytesOf(v: unknown, what: string): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return v.startsWith('0x') ? fromHex(v) : new TextEncoder().encode(v);
  if (Array.isArray(v) && v.every((x) => Number.isInteger(x))) return Uint8Array.from(v as number[]);
  throw new ChainError(ChainErrorCode.badInput, `${what}: expected bytes, got ${JSON.stringify(v)}`);
}

/** Decoding and encoding of any type of one runtime's registry. */
export class TypeRegistry {
  private readonly byId: LookupEntry[] = [];
  /** Encodes a `Call` where the registry has the runtime call type. */
  encodeCall: ((w: Writer, call: Call) => void) | null = null;

  constructor(lookup: readonly LookupEntry[]) {
    for (const e of lookup) this.byId[e.id] = e;
  }

  entry(id: number): LookupEntry {
    const e = this.byId[id];
    if (!e) throw new ChainError(ChainErrorCode.decode, `type ${id} is not in the runtime's registry`);
    return e;
  }

  private isU8(id: number): boolean {
    const d = this.entry(id).def;
    return d.tag === 'primitive' && d.value.tag === 'u8';
  }

  private isAccountId(e: LookupEntry): boolean {
    return e.path.at(-1) === 'AccountId32';
  }

  decode(id: number, r: Reader): unknown {
    const e = this.entry(id);
    const d = e.def;
    switch (d.tag) {
      case 'composite':
        if (this.isAccountId(e)) return ss58Encode(r.take(32));
        return this.decodeFields(d.value, r);
      case 'variant': {
        const index = r.u8();
        const v = d.value.find((x) => x.index === index);
        if (!v) throw new ChainError(ChainErrorCode.decode, `SCALE: variant ${index} unknown in ${e.path.join('::') || `type ${id}`}`);
        if (e.path.length === 1 && e.path[0] === 'Option') return v.name === 'None' ? null : this.decode(v.fields[0]!.type, r);
        const value = this.decodeFields(v.fields, r);
        return d.value.every((x) => x.fields.length === 0) ? v.name : { [camelCase(v.name)]: value };
      }
      case 'sequence': {
        const n = r.length();
        if (this.isU8(d.value)) return toHex(r.take(n));
        return Array.from({ length: n }, () => this.decode(d.value, r));
      }
      case 'array':
        if (this.isU8(d.value.type)) return toHex(r.take(d.value.len));
        return Array.from({ length: d.value.len }, () => this.decode(d.value.type, r));
      case 'tuple':
        if (d.value.length === 0) return null;
        if (d.value.length === 1) return this.decode(d.value[0]!, r);
        return d.value.map((t) => this.decode(t, r));
      case 'primitive':
        return this.decodePrimitive(d.value.tag, r);
      case 'compact': {
        const inner = this.entry(d.value).def;
        const width = inner.tag === 'primitive' ? (INT_BYTES[inner.value.tag] ?? 16) : 16;
        return intJson(r.compact(), width);
      }
      default:
        throw new ChainError(ChainErrorCode.decode, `SCALE: ${d.tag} is not supported (type ${id})`);
    }
  }

  /** A struct as an object, one unnamed field as that field, several as an array, none as null. */
  decodeFields(fields: readonly Field[], r: Reader): unknown {
    if (fields.length === 0) return null;
    if (fields.every((f) => f.name !== undefined)) {
      const out: Record<string, unknown> = {};
      for (const f of fields) out[camelCase(f.name!)] = this.decode(f.type, r);
      return out;
    }
    if (fields.length === 1) return this.decode(fields[0]!.type, r);
    return fields.map((f) => this.decode(f.type, r));
  }

  private decodePrimitive(tag: string, r: Reader): unknown {
    if (tag === 'bool') return r.u8() === 1;
    if (tag === 'str') return new TextDecoder().decode(r.take(r.length()));
    if (tag === 'char') return String.fromCodePoint(Number(r.uint(4)));
    const n = INT_BYTES[tag];
    if (!n) throw new ChainError(ChainErrorCode.decode, `SCALE: primitive ${tag} unknown`);
    let v = r.uint(n);
    if (tag.startsWith('i') && v >= 1n << BigInt(n * 8 - 1)) v -= 1n << BigInt(n * 8);
    return intJson(v, n);
  }

  encode(id: number, value: unknown, w: Writer, what = `type ${id}`): void {
    const e = this.entry(id);
    const d = e.def;
    switch (d.tag) {
      case 'composite':
        if (this.isAccountId(e)) {
          w.bytes(accountBytes(value as string | Uint8Array));
          return;
        }
        this.encodeFields(d.value, value, w, what);
        return;
      case 'variant': {
        if (value instanceof Call && this.encodeCall) {
          this.encodeCall(w, value);
          return;
        }
        if (e.path.length === 1 && e.path[0] === 'Option') {
          if (value === null || value === undefined) w.u8(0);
          else this.encode(d.value.find((v) => v.name === 'Some')!.fields[0]!.type, value, w.u8(1), what);
          return;
        }
        // An account where a MultiAddress is wanted is its Id variant, as polkadot-js takes it.
        if (e.path.at(-1) === 'MultiAddress' && (typeof value === 'string' || value instanceof Uint8Array)) value = { Id: value };
        const [key, inner] = typeof value === 'string' ? [value, null] : value && typeof value === 'object' && Object.keys(value).length === 1 ? Object.entries(value)[0]! : [null, null];
        const v = key === null ? undefined : d.value.find((x) => x.name === key || camelCase(x.name) === key);
        if (!v) throw new ChainError(ChainErrorCode.badInput, `${what}: no variant ${JSON.stringify(value)} in ${e.path.join('::')}`);
        this.encodeFields(v.fields, inner, w.u8(v.index), `${what}.${v.name}`);
        return;
      }
      case 'sequence': {
        if (this.isU8(d.value)) {
          const b = bytesOf(value, what);
          w.compact(b.length).bytes(b);
          return;
        }
        const list = this.list(value, what);
        w.compact(list.length);
        list.forEach((x, i) => this.encode(d.value, x, w, `${what}[${i}]`));
        return;
      }
      case 'array': {
        if (this.isU8(d.value.type)) {
          const b = bytesOf(value, what);
          if (b.length !== d.value.len) throw new ChainError(ChainErrorCode.badInput, `${what}: expected ${d.value.len} bytes, got ${b.length}`);
          w.bytes(b);
          return;
        }
        const list = this.list(value, what);
        if (list.length !== d.value.len) throw new ChainError(ChainErrorCode.badInput, `${what}: expected ${d.value.len} items`);
        list.forEach((x, i) => this.encode(d.value.type, x, w, `${what}[${i}]`));
        return;
      }
      case 'tuple':
        if (d.value.length === 1) this.encode(d.value[0]!, value, w, what);
        else if (d.value.length > 1) this.list(value, what).forEach((x, i) => this.encode(d.value[i]!, x, w, `${what}[${i}]`));
        return;
      case 'primitive': {
        const tag = d.value.tag;
        if (tag === 'bool') w.u8(value ? 1 : 0);
        else if (tag === 'str') {
          const b = new TextEncoder().encode(String(value));
          w.compact(b.length).bytes(b);
        } else if (tag.startsWith('u')) w.uint(toBigInt(value, what), INT_BYTES[tag]!);
        else throw new ChainError(ChainErrorCode.badInput, `${what}: encoding ${tag} is not supported`);
        return;
      }
      case 'compact':
        w.compact(toBigInt(value, what));
        return;
      default:
        throw new ChainError(ChainErrorCode.badInput, `${what}: encoding ${d.tag} is not supported`);
    }
  }

  encodeFields(fields: readonly Field[], value: unknown, w: Writer, what: string): void {
    if (fields.length === 0) return;
    if (fields.every((f) => f.name !== undefined)) {
      const obj = (value ?? {}) as Record<string, unknown>;
      for (const f of fields) this.encode(f.type, obj[camelCase(f.name!)] ?? obj[f.name!], w, `${what}.${f.name}`);
      return;
    }
    if (fields.length === 1) {
      this.encode(fields[0]!.type, value, w, what);
      return;
    }
    this.list(value, what).forEach((x, i) => this.encode(fields[i]!.type, x, w, `${what}[${i}]`));
  }

  private list(value: unknown, what: string): unknown[] {
    if (!Array.isArray(value)) throw new ChainError(ChainErrorCode.badInput, `${what}: expected a list, got ${JSON.stringify(value)}`);
    return value;
  }
}
