import type { Extrinsic, Call } from '@polkadot/types/interfaces';
import { u8aToHex } from '@polkadot/util';
import { blake2AsU8a, ed25519Verify, secp256k1Verify, sr25519Verify } from '@polkadot/util-crypto';
import { account, EXISTENTIAL_DEPOSIT } from '../pallets/balances.ts';
import { feeFor } from '../pallets/transaction-payment.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { badFormat, invalidTx, unknownTx } from './errors.ts';

export const SPEC_VERSION = 152;
export const TRANSACTION_VERSION = 2;

/** A decoded, signature-checked signed extrinsic. */
export interface CheckedTx {
  hash: string;
  hex: string;
  length: number;
  signer: string;
  nonce: number;
  tip: bigint;
  /** Fee charged when applied (0 for Pays::No calls, apart from the tip). */
  fee: bigint;
  call: Call;
  /** Last block number (exclusive) at which a mortal tx may be included. */
  death: number | null;
}

/** What validation needs to know about the chain. */
export interface ChainView {
  genesisHash: string;
  bestNumber: number;
  hashOf(n: number): string | undefined;
}

/** Decodes extrinsic bytes, refusing trailing garbage. */
export function decodeExtrinsic(runtime: Runtime, bytes: Uint8Array): Extrinsic {
  let xt: Extrinsic;
  try {
    xt = runtime.registry.createType('Extrinsic', bytes);
  } catch (err) {
    throw badFormat(String((err as Error).message ?? err).split('\n')[0]!.slice(0, 200));
  }
  if (xt.encodedLength !== bytes.length) throw badFormat(`${bytes.length - xt.encodedLength} trailing bytes`);
  if ((xt.version & 0x7f) !== 4) throw badFormat(`unsupported extrinsic version ${xt.version & 0x7f}`);
  return xt;
}

/** Verifies a MultiSignature over the message for the AccountId32. */
function verifySignature(kind: string, sig: Uint8Array, message: Uint8Array, who: Uint8Array): boolean {
  try {
    if (kind === 'Sr25519') return sr25519Verify(message, sig, who);
    if (kind === 'Ed25519') return ed25519Verify(message, sig, who);
    if (kind === 'Ecdsa') return secp256k1Verify(message, sig, who, 'blake2', true);
  } catch {
    return false;
  }
  return false;
}

function signedPayload(runtime: Runtime, xt: Extrinsic, genesisHash: string, blockHash: string): Uint8Array {
  const payload = runtime.registry
    .createType(
      'ExtrinsicPayload',
      {
        method: xt.method.toHex(),
        era: xt.era,
        nonce: xt.nonce,
        tip: xt.tip,
        specVersion: SPEC_VERSION,
        transactionVersion: TRANSACTION_VERSION,
        genesisHash,
        blockHash,
      },
      { version: 4 },
    )
    .toU8a({ method: true });
  return payload.length > 256 ? blake2AsU8a(payload, 256) : payload;
}

/**
 * Validates a signed extrinsic against the current (best) state, in the order
 * FRAME does: signer lookup, era/birth block, signature over the signed payload
 * (spec/tx version and genesis are part of it), then nonce and fee. A nonce ahead
 * of the account is returned with `future: true` for the pool to hold.
 */
export function checkExtrinsic(runtime: Runtime, chain: ChainView, bytes: Uint8Array): CheckedTx & { future: boolean } {
  const xt = decodeExtrinsic(runtime, bytes);
  if (!xt.isSigned) throw unknownTx('NoUnsignedValidator');
  if (xt.signer.type !== 'Id') throw unknownTx('CannotLookup');
  const who = (xt.signer as any).inner.toU8a() as Uint8Array;
  if (who.every((b) => b === 0)) throw invalidTx('BadSigner');

  // Validation runs as if in the next block, like frame_executive::validate_transaction.
  const current = chain.bestNumber + 1;
  let birthHash = chain.genesisHash;
  let death: number | null = null;
  if (xt.era.isMortalEra) {
    const era = xt.era.asMortalEra;
    const birth = Number(era.birth(current));
    const known = chain.hashOf(birth);
    if (birth > current || known === undefined) throw invalidTx('AncientBirthBlock');
    birthHash = known;
    death = Number(era.death(current));
  }

  const multi = (xt as any).inner.signature.multiSignature;
  const sig = multi.inner.toU8a() as Uint8Array;
  if (!verifySignature(multi.type, sig, signedPayload(runtime, xt, chain.genesisHash, birthHash), who)) {
    // A mortal tx signed in an earlier period of its era has expired: report it as outdated.
    if (xt.era.isMortalEra && isExpired(runtime, xt, chain, current, sig, multi.type, who)) throw invalidTx('Stale');
    throw invalidTx('BadProof');
  }

  const signer = u8aToHex(who);
  const tip = xt.tip.toBigInt();
  const nonce = xt.nonce.toNumber();
  const ctx = runtime.hooks();
  const acc = account(ctx, signer);
  if (nonce < acc.nonce) throw invalidTx('Stale');
  const call = xt.method as unknown as Call;
  const fee = runtime.paysFee(call) ? feeFor(bytes.length, tip) : tip;
  if (!canPay(acc.data.free, acc.providers + acc.sufficients, fee)) throw invalidTx('Payment');
  return {
    hash: u8aToHex(blake2AsU8a(bytes, 256)),
    hex: u8aToHex(bytes),
    length: bytes.length,
    signer,
    nonce,
    tip,
    fee,
    call,
    death,
    future: nonce > acc.nonce,
  };
}

/** Whether the signature verifies against an earlier period's birth block (a few periods back). */
function isExpired(runtime: Runtime, xt: Extrinsic, chain: ChainView, current: number, sig: Uint8Array, kind: string, who: Uint8Array): boolean {
  const era = xt.era.asMortalEra;
  const period = Number(era.period);
  for (let i = 1, birth = Number(era.birth(current)) - period; i <= 8 && birth >= 0; i++, birth -= period) {
    const hash = chain.hashOf(birth);
    if (hash && verifySignature(kind, sig, signedPayload(runtime, xt, chain.genesisHash, hash), who)) return true;
  }
  return false;
}

/** Fees are withdrawn keep-alive; an account that does not exist cannot even pay a zero fee. */
export function canPay(free: bigint, refs: number, fee: bigint): boolean {
  if (refs === 0) return false;
  if (fee === 0n) return true;
  return free >= fee && free - fee >= EXISTENTIAL_DEPOSIT;
}

