import type { Call } from '@polkadot/types/interfaces';
import { account, putAccount } from '../pallets/balances.ts';
import { chargeFee, feePaid } from '../pallets/transaction-payment.ts';
import { DispatchFailure } from '../runtime/errors.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { canPay, type CheckedTx } from './check.ts';
import { invalidTx } from './errors.ts';

/** Fixed weights: the devnet does not benchmark, but clients display these. */
const NORMAL_WEIGHT = { refTime: 250_000_000n, proofSize: 3_593n };
const INHERENT_WEIGHT = { refTime: 10_000_000n, proofSize: 1_493n };

export type DispatchClass = 'Normal' | 'Operational' | 'Mandatory';

export function dispatchInfo(runtime: Runtime, call: Call, cls: DispatchClass = 'Normal') {
  return {
    weight: cls === 'Mandatory' ? INHERENT_WEIGHT : NORMAL_WEIGHT,
    class: cls,
    paysFee: runtime.paysFee(call) ? 'Yes' : 'No',
  };
}

/** Outcome of an applied extrinsic: null on success, the dispatch failure otherwise. */
export type ApplyResult = DispatchFailure | null;

/**
 * Applies a signed, already signature-checked extrinsic at `index` of the block:
 * re-checks nonce and fee against the block state (throws TxPoolError when the tx
 * can no longer be included, leaving state untouched), bumps the nonce, withdraws
 * the fee, dispatches, then emits TransactionFeePaid and ExtrinsicSuccess/Failed.
 */
export function applySigned(runtime: Runtime, tx: CheckedTx, index: number, blockNumber: number): ApplyResult {
  const ctx = runtime.hooks();
  const acc = account(ctx, tx.signer);
  if (tx.death !== null && blockNumber >= tx.death) throw invalidTx('Stale');
  if (tx.nonce < acc.nonce) throw invalidTx('Stale');
  if (tx.nonce > acc.nonce) throw invalidTx('Future');
  if (!canPay(acc.data.free, acc.providers + acc.sufficients, tx.fee)) throw invalidTx('Payment');

  runtime.setPhase({ ApplyExtrinsic: index });
  putAccount(ctx, tx.signer, { ...acc, nonce: acc.nonce + 1 });
  if (tx.fee > 0n) chargeFee(ctx, tx.signer, tx.fee);
  let failure: ApplyResult = null;
  try {
    runtime.dispatchCall(tx.call, { kind: 'signed', account: tx.signer });
  } catch (err) {
    if (!(err instanceof DispatchFailure)) throw err;
    failure = err;
  }
  feePaid(ctx, tx.signer, tx.fee, tx.tip);
  const info = dispatchInfo(runtime, tx.call);
  if (failure) ctx.deposit('System', 'ExtrinsicFailed', { dispatchError: runtime.dispatchError(failure), dispatchInfo: info });
  else ctx.deposit('System', 'ExtrinsicSuccess', { dispatchInfo: info });
  return failure;
}

/** Applies an inherent (unsigned, mandatory); a failure is a devnet bug. */
export function applyInherent(runtime: Runtime, call: Call, index: number): void {
  runtime.setPhase({ ApplyExtrinsic: index });
  runtime.dispatchCall(call, { kind: 'none' });
  runtime.hooks().deposit('System', 'ExtrinsicSuccess', { dispatchInfo: dispatchInfo(runtime, call, 'Mandatory') });
}
