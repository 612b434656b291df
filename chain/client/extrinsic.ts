import { Blake2256 } from '@polkadot-api/substrate-bindings';
import { ChainError, ChainErrorCode } from './errors.ts';
import type { Runtime } from './runtime.ts';
import { type Call, fromHex, Writer } from './scale.ts';
import type { HexString } from './types.ts';

/**
 * Signed extrinsics (format v4) as @polkadot/api builds them: the call, then each signed
 * extension's extra data in the runtime's order (era, nonce, tip; tfchain's ContractIdProvides
 * carries nothing), signed over call ++ extra ++ additional data (spec and transaction version,
 * genesis, era checkpoint), hashed with blake2-256 first when longer than 256 bytes. Pure.
 */

/** What signs an extrinsic; a @polkadot/keyring pair fits, so does a node identity's signer. */
export interface ChainSigner {
  readonly address: string;
  readonly publicKey: Uint8Array;
  readonly type: string;
  sign(message: Uint8Array): Uint8Array;
}

export interface SigningInfo {
  nonce: number;
  tip?: bigint;
  specVersion: number;
  transactionVersion: number;
  genesisHash: HexString;
  /** The era's checkpoint: a mortal era starts at this block; immortal when null (checkpoint = genesis). */
  era: { blockHash: HexString; blockNumber: number; period: number } | null;
}

const SIGNATURE_VARIANT: Record<string, string> = { ed25519: 'Ed25519', sr25519: 'Sr25519', ecdsa: 'Ecdsa' };

/** The two bytes of a mortal era (period rounded up to a power of two in 4..65536), or 0x00 when immortal. */
export function encodeEra(era: SigningInfo['era']): Uint8Array {
  if (!era) return Uint8Array.of(0);
  const period = Math.min(Math.max(2 ** Math.ceil(Math.log2(era.period)), 4), 1 << 16);
  const quantize = Math.max(period >> 12, 1);
  const phase = Math.floor((era.blockNumber % period) / quantize) * quantize;
  const trailingZeros = Math.log2(period & -period);
  const encoded = Math.min(15, Math.max(1, trailingZeros - 1)) + ((phase / quantize) << 4);
  return Uint8Array.of(encoded & 0xff, encoded >> 8);
}

/** The signed extrinsic's bytes, length-prefixed, ready for author_submitExtrinsic. */
export function signExtrinsic(runtime: Runtime, call: Call | Uint8Array, signer: ChainSigner, info: SigningInfo): Uint8Array {
  const variant = SIGNATURE_VARIANT[signer.type];
  if (!variant) throw new ChainError(ChainErrorCode.badInput, `cannot sign extrinsics with a ${signer.type} key`);
  const callBytes = call instanceof Uint8Array ? call : runtime.encodeCall(call);
  const extra = new Writer();
  const additional = new Writer();
  for (const ext of runtime.signedExtensions) {
    switch (ext.identifier) {
      case 'CheckMortality':
        extra.bytes(encodeEra(info.era));
        additional.bytes(fromHex(info.era?.blockHash ?? info.genesisHash));
        continue;
      case 'CheckNonce':
        extra.compact(info.nonce);
        continue;
      case 'ChargeTransactionPayment':
        extra.compact(info.tip ?? 0n);
        continue;
      case 'CheckSpecVersion':
        additional.uint(BigInt(info.specVersion), 4);
        continue;
      case 'CheckTxVersion':
        additional.uint(BigInt(info.transactionVersion), 4);
        continue;
      case 'CheckGenesis':
        additional.bytes(fromHex(info.genesisHash));
        continue;
    }
    // Any other extension must carry nothing (CheckNonZeroSender, CheckWeight, ContractIdProvides).
    if (runtime.encode(ext.type, undefined).length || runtime.encode(ext.additionalSigned, undefined).length) {
      throw new ChainError(ChainErrorCode.badInput, `signed extension ${ext.identifier} carries data this client does not know`);
    }
  }
  const extraBytes = extra.done();
  const payload = Buffer.concat([callBytes, extraBytes, additional.done()]);
  const signature = signer.sign(payload.length > 256 ? Blake2256(payload) : payload);
  const body = Buffer.concat([
    Uint8Array.of(0x84),
    runtime.encode(runtime.addressType, { Id: signer.publicKey }),
    runtime.encode(runtime.signatureType, { [variant]: signature }),
    extraBytes,
    callBytes,
  ]);
  return new Writer().compact(body.length).bytes(body).done();
}
