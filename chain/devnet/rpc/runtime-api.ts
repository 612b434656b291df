import { compactAddLength, hexToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { blake2AsU8a } from '@polkadot/util-crypto';
import { dispatchInfo } from '../executive/apply.ts';
import { decodeExtrinsic, SPEC_VERSION, TRANSACTION_VERSION } from '../executive/check.ts';
import { BASE_FEE, BYTE_FEE, feeFor } from '../pallets/transaction-payment.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { invalidParams, RpcError } from './protocol.ts';

/** state_getRuntimeVersion of tfchain spec 152 (apis as the real node lists them). */
export const RUNTIME_VERSION = {
  specName: 'substrate-threefold',
  implName: 'substrate-threefold',
  authoringVersion: 1,
  specVersion: SPEC_VERSION,
  implVersion: 1,
  apis: [
    ['0xdf6acb689907609b', 4],
    ['0x37e397fc7c91f5e4', 2],
    ['0x40fe3ad401f8959a', 6],
    ['0xd2bc9897eed08f15', 3],
    ['0xf78b278be53f454c', 2],
    ['0xdd718d5cc53262d4', 1],
    ['0xab3c0572291feb8b', 1],
    ['0xed99c5acb25eedf5', 3],
    ['0xbc9d89904f5b923f', 1],
    ['0x37c8bb1350a9a2a8', 4],
  ] as Array<[string, number]>,
  transactionVersion: TRANSACTION_VERSION,
  stateVersion: 0,
};

const METADATA_VERSION = 14;

/** Reads raw storage at the block the call is made against. */
export type StorageRead = (key: string) => Uint8Array | undefined;

type ApiFn = (runtime: Runtime, input: Uint8Array, read: StorageRead) => Uint8Array;

const u32le = (n: number) => {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, true);
  return out;
};

function queryInfo(runtime: Runtime, input: Uint8Array) {
  // Input: (UncheckedExtrinsic, u32 len). The extrinsic carries its own length prefix.
  const xt = decodeExtrinsic(runtime, input.subarray(0, input.length - 4));
  const len = new DataView(input.buffer, input.byteOffset + input.length - 4).getUint32(0, true);
  const call = xt.method as any;
  const pays = runtime.paysFee(call);
  return { info: dispatchInfo(runtime, call), len, pays, tip: xt.isSigned ? xt.tip.toBigInt() : 0n };
}

/** The runtime APIs clients call through state_call, by `Trait_method` name. */
const RUNTIME_APIS: Record<string, ApiFn> = {
  Core_version: (rt) => rt.registry.createType('RuntimeVersion', RUNTIME_VERSION).toU8a(),
  Metadata_metadata: (rt) => compactAddLength(rt.metadataBytes),
  Metadata_metadata_versions: (rt) => rt.registry.createType('Vec<u32>', [METADATA_VERSION]).toU8a(),
  Metadata_metadata_at_version: (rt, input) => {
    if (input.length !== 4) throw invalidParams('expected a u32 metadata version');
    const version = new DataView(input.buffer, input.byteOffset).getUint32(0, true);
    return version === METADATA_VERSION ? u8aConcat([1], compactAddLength(rt.metadataBytes)) : new Uint8Array([0]);
  },
  AccountNonceApi_account_nonce: (rt, input, read) => {
    if (input.length !== 32) throw invalidParams('expected a 32-byte AccountId');
    const raw = read(rt.storageKey('System', 'Account', [input]));
    return u32le(raw ? (rt.decodeValue('System', 'Account', raw) as any).nonce.toNumber() : 0);
  },
  TransactionPaymentApi_query_info: (rt, input) => {
    const { info, len, pays } = queryInfo(rt, input);
    const partialFee = pays ? feeFor(len, 0n) : 0n;
    return rt.registry.createType('RuntimeDispatchInfo', { weight: info.weight, class: info.class, partialFee }).toU8a();
  },
  TransactionPaymentApi_query_fee_details: (rt, input) => {
    const { len, pays, tip } = queryInfo(rt, input);
    const inclusionFee = pays ? { baseFee: BASE_FEE, lenFee: BYTE_FEE * BigInt(len), adjustedWeightFee: 0n } : null;
    return rt.registry.createType('FeeDetails', { inclusionFee, tip }).toU8a();
  },
};

export const runtimeApiNames = (): string[] => Object.keys(RUNTIME_APIS);

/** Runs a runtime API; the answer is SCALE bytes as 0x-hex, like state_call. */
export function stateCall(runtime: Runtime, method: string, data: string, read: StorageRead): string {
  const fn = RUNTIME_APIS[method];
  if (!fn) throw new RpcError(4003, `Client error: Execution failed: Other: Exported method ${method} is not found`);
  try {
    return u8aToHex(fn(runtime, hexToU8a(data), read));
  } catch (err) {
    if (err instanceof RpcError) throw err;
    throw new RpcError(4003, `Client error: Execution failed: ${String((err as Error)?.message ?? err).split('\n')[0]}`);
  }
}

export const extrinsicHash = (hex: string): string => u8aToHex(blake2AsU8a(hexToU8a(hex), 256));
