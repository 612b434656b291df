// zod building blocks that decode JSON the way Go's encoding/json fills zos structs:
// a missing key or `null` leaves the zero value, object keys match their field
// case-insensitively (so `network` fills the untagged mycelium `Network`),
// unsigned integers are range-checked, and unknown keys are dropped as Go ignores them.
import { z } from 'zod';
import { decodeHex, parseIP, parseIPNet, type GoIP, type GoIPNet } from './goformat.ts';

const zeroIfNull = <T extends z.ZodType>(zero: unknown, schema: T) =>
  z.preprocess((v) => (v === null || v === undefined ? zero : v), schema);

export const goString = () => zeroIfNull('', z.string());
export const goBool = () => zeroIfNull(false, z.boolean());

/** Unsigned integer of `bits` width; u64 is limited to what a JSON number holds exactly. */
export const goUint = (bits: 8 | 16 | 32 | 64) =>
  zeroIfNull(
    0,
    z
      .number()
      .int()
      .min(0)
      .max(bits === 64 ? Number.MAX_SAFE_INTEGER : 2 ** bits - 1),
  );

export const goArray = <T extends z.ZodType>(item: T) => zeroIfNull([], z.array(item));

export const goStringMap = () => zeroIfNull({}, z.record(z.string(), goString()));

/** gridtypes.Bytes / qsfs EncryptionKey: hex text; `null`/missing is empty. */
export const goHexBytes = () =>
  zeroIfNull('', z.string()).transform((s, ctx): Uint8Array => {
    const r = decodeHex(s);
    if (typeof r === 'string') {
      ctx.addIssue({ code: 'custom', message: r });
      return z.NEVER;
    }
    return r;
  });

/** net.IP: `""`/null is unset (prints `<nil>`). */
export const goIP = () =>
  zeroIfNull('', z.string()).transform((s, ctx): GoIP | null => {
    if (s === '') return null;
    const ip = parseIP(s);
    if (!ip) {
      ctx.addIssue({ code: 'custom', message: `invalid IP address: ${s}` });
      return z.NEVER;
    }
    return ip;
  });

/** gridtypes.IPNet: `""`/null is unset (prints `<nil>`). */
export const goIPNet = () =>
  zeroIfNull('', z.string()).transform((s, ctx): GoIPNet | null => {
    if (s === '') return null;
    const n = parseIPNet(s);
    if (!n) {
      ctx.addIssue({ code: 'custom', message: `invalid CIDR address: ${s}` });
      return z.NEVER;
    }
    return n;
  });

/** gridtypes.Timestamp: unix seconds, or an ISO-8601 (RFC 3339) date. */
export const goTimestamp = () =>
  zeroIfNull(0, z.union([z.number().int(), z.string()])).transform((v, ctx): number => {
    if (typeof v === 'number') return v;
    const ok = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v);
    const ms = ok ? Date.parse(v) : NaN;
    if (Number.isNaN(ms)) {
      ctx.addIssue({ code: 'custom', message: 'unknown timestamp format, expecting a timestamp or an ISO-8601 date' });
      return z.NEVER;
    }
    return Math.floor(ms / 1000);
  });

/** Rename keys that match a field case-insensitively, like encoding/json does. */
function foldKeys(keys: readonly string[], v: unknown): unknown {
  if (v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v)) return v;
  const lower = new Map(keys.map((k) => [k.toLowerCase(), k]));
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v)) {
    const canon = keys.includes(k) ? k : (lower.get(k.toLowerCase()) ?? k);
    if (canon in out && canon !== k) continue; // an exact-case key wins over a folded one
    out[canon] = val;
  }
  return out;
}

/**
 * A Go struct as encoding/json decodes it: case-insensitive keys, `null` gives all-zero fields,
 * unknown keys ignored (grid_client sends a `__type` key in every workload's data).
 */
export function goStruct<S extends z.ZodRawShape>(shape: S) {
  const keys = Object.keys(shape);
  return z.preprocess((v) => foldKeys(keys, v), z.object(shape).strip());
}

/** A pointer-to-struct field (`*T` with omitempty): missing or `null` stays undefined. */
export function goOptional<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (v === null ? undefined : v), schema.optional());
}
