/** Shared pieces of the TfgridModule call handlers: argument specs and decoding, errors, signer lookups. */
import type { Codec } from '@polkadot/types/types';
import { u8aToString } from '@polkadot/util';
import { boundedBytes, bytes, option, u32, type FieldSpec } from '../../metadata/scale-info.ts';
import type { CallContext } from '../../runtime/context.ts';
import { DispatchFailure, moduleError } from '../../runtime/errors.ts';
import type { TfgridError } from './errors.ts';
import { TFGRID, twinIdOf } from './queries.ts';

export const fail = (error: TfgridError): never => {
  throw moduleError(TFGRID, error);
};

/** Fails with `error` unless `ok`. */
export function ensure(ok: boolean, error: TfgridError): void {
  if (!ok) fail(error);
}

/** Fails with the first validation error, if any. */
export function check(error: TfgridError | null): void {
  if (error !== null) fail(error);
}

/**
 * Input longer than its BoundedVec bound: the real chain cannot even decode such an
 * extrinsic, so it is refused as a non-module error.
 */
export function ensureBound(len: number, max: number, what: string): void {
  if (len > max) throw new DispatchFailure('Other', undefined, undefined, `${what} longer than ${max} bytes`);
}

// ---- argument specs ----

export const u32Arg = (name: string): FieldSpec => [name, u32, 'u32'];
export const bytesArg = (name: string, typeName: string): FieldSpec => [name, boundedBytes, typeName];
export const vecArg = (name: string): FieldSpec => [name, bytes, 'Vec<u8>'];
export const optBytesArg = (name: string, typeName: string): FieldSpec => [name, option(boundedBytes), typeName];

// ---- argument decoding ----

/** UTF-8 text of a Bytes argument. */
export const text = (c: Codec): string => u8aToString(c.toU8a(true));
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
/** UTF-8 text of a Bytes argument, or null when the bytes are not valid UTF-8. */
export function strictText(c: Codec): string | null {
  try {
    return strictUtf8.decode(c.toU8a(true));
  } catch {
    return null;
  }
}
export const optText = (c: Codec): string | null => ((c as any).isSome ? text((c as any).unwrap()) : null);
export const num = (c: Codec): number => (c as any).toNumber();

/** A u64 argument as a number; values past 2^53 (no real resource size) are refused rather than rounded. */
export function u64Number(c: Codec, what: string): number {
  const v = (c as any).toBigInt() as bigint;
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new DispatchFailure('Other', undefined, undefined, `${what} above 2^53 is not supported by the devnet`);
  }
  return Number(v);
}
export const flag = (c: Codec): boolean => (c as any).isTrue;
/** Name of a unit enum variant (Power, NodeCertification...). */
export const variant = <T extends string>(c: Codec): T => (c as any).type as T;

/** The signer's twin id, or TwinNotExists. */
export function signerTwinId(ctx: CallContext): number {
  const id = twinIdOf(ctx, ctx.signer());
  return id ?? fail('TwinNotExists');
}
