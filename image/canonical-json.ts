/**
 * Canonical JSON (SPEC.md §3): object keys sorted by UTF-16 code units (all our keys are ASCII),
 * no insignificant whitespace, integers only, strings escaped as JSON.stringify does. Pure.
 */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/**
 * The canonical text of a value. Built in native code where it can: a copy with every object's
 * keys inserted in order, given to JSON.stringify (~5x the encoder below on a 300 KB manifest,
 * which a build encodes on its main thread while the workers wait). An object with an index-like
 * key, which JSON.stringify would put first, is encoded in JavaScript.
 */
export function canonicalJson(value: unknown): string {
  const sorted = sortedCopy(value);
  return sorted === INDEXED ? encode(value) : JSON.stringify(sorted);
}

const INDEXED = Symbol('an object with an index-like key');

/** `value` with sorted keys, checked as `encode` checks it; INDEXED where JSON.stringify's order would differ. */
function sortedCopy(value: unknown): unknown {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError(`canonical JSON allows only safe integers, got ${value}`);
    return value;
  }
  if (typeof value !== 'object') throw new TypeError(`canonical JSON cannot encode ${typeof value}`);
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) {
      const x = sortedCopy(value[i]);
      if (x === INDEXED) return INDEXED;
      out[i] = x;
    }
    return out;
  }
  const obj = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(obj).sort()) {
    if (obj[k] === undefined) continue;
    if (INDEX_KEY.test(k)) return INDEXED;
    const x = sortedCopy(obj[k]);
    if (x === INDEXED) return INDEXED;
    out[k] = x;
  }
  return out;
}

/** The rule itself, in JavaScript: keys sorted by UTF-16 code units at every level. */
function encode(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isSafeInteger(value)) throw new TypeError(`canonical JSON allows only safe integers, got ${value}`);
      return String(value);
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(encode).join(',')}]`;
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${encode(obj[k])}`).join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON cannot encode ${typeof value}`);
  }
}

/** A key JSON.parse puts first, in numeric order (an array index): its place can't be read back. */
const INDEX_KEY = /^(0|[1-9][0-9]*)$/;

/**
 * Whether `bytes` are exactly canonicalJson(value), where value = JSON.parse(bytes) and every
 * number in it is a safe integer (the caller's schema checks that). JSON.parse keeps keys in
 * their order in the text, so the text is canonical when JSON.stringify gives it back byte for
 * byte and every object's keys are in order: native code instead of re-encoding in JavaScript
 * (~30 ms for a 300 KB manifest here). An object with an index-like key falls back to encoding.
 */
export function isCanonicalJson(bytes: Uint8Array, value: unknown): boolean {
  const order = keysInOrder(value);
  const text = order === null ? encode(value) : order ? JSON.stringify(value) : null;
  return text !== null && Buffer.compare(Buffer.from(text, 'utf8'), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)) === 0;
}

/** Every object's keys strictly ascending; null when an index-like key makes the order unknowable. */
function keysInOrder(v: unknown): boolean | null {
  if (typeof v !== 'object' || v === null) return true;
  if (Array.isArray(v)) {
    let all: boolean | null = true;
    for (const x of v) {
      const r = keysInOrder(x);
      if (r === false) return false;
      if (r === null) all = null;
    }
    return all;
  }
  const obj = v as Record<string, unknown>;
  let all: boolean | null = true;
  let prev: string | undefined;
  for (const k in obj) {
    if (INDEX_KEY.test(k)) return null;
    if (prev !== undefined && !(prev < k)) return false;
    prev = k;
    const r = keysInOrder(obj[k]);
    if (r === false) return false;
    if (r === null) all = null;
  }
  return all;
}
