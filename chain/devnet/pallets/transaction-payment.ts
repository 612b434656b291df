import { AccountId32 } from '../metadata/common-types.ts';
import { phantom, struct, u128, u8 } from '../metadata/scale-info.ts';
import type { HookContext } from '../runtime/context.ts';
import type { PalletDecl } from '../runtime/pallet.ts';
import { withdraw } from './balances.ts';

/** Fee model of the devnet: a base fee plus a per-byte fee, in TFT units (1 TFT = 1e7). */
export const BASE_FEE = 10_000n;
export const BYTE_FEE = 10n;

export const feeFor = (length: number, tip: bigint): bigint => BASE_FEE + BYTE_FEE * BigInt(length) + tip;

/** Charges the fee before dispatch; emits Balances.Withdraw. Throws when the account cannot pay. */
export function chargeFee(ctx: HookContext, who: string, fee: bigint): void {
  withdraw(ctx, who, fee, true);
  ctx.deposit('Balances', 'Withdraw', { who, amount: fee });
}

/** Emitted after dispatch, as pallet_transaction_payment does. */
export function feePaid(ctx: HookContext, who: string, fee: bigint, tip: bigint): void {
  ctx.deposit('TransactionPayment', 'TransactionFeePaid', { who, actualFee: fee, tip });
}

export function transactionPaymentPallet(): PalletDecl {
  return {
    name: 'TransactionPayment',
    index: 21,
    typePath: 'pallet_transaction_payment::pallet',
    typeParams: phantom('T'),
    storage: [
      { name: 'NextFeeMultiplier', modifier: 'Default', type: { plain: struct('sp_arithmetic::fixed_point::FixedU128', [[null, u128, 'u128']]) }, default: 1_000_000_000_000_000_000n },
    ],
    events: [
      ['TransactionFeePaid', [['who', AccountId32, 'T::AccountId'], ['actual_fee', u128, 'BalanceOf<T>'], ['tip', u128, 'BalanceOf<T>']]],
    ],
    constants: [{ name: 'OperationalFeeMultiplier', type: u8, value: 5 }],
  };
}
