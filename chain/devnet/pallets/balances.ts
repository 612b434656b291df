import { u8aToHex } from '@polkadot/util';
import { AccountId32, MultiAddress } from '../metadata/common-types.ts';
import { bool, compact, phantom, seq, u128, u32, type FieldSpec } from '../metadata/scale-info.ts';
import type { CallContext, HookContext } from '../runtime/context.ts';
import { DispatchFailure } from '../runtime/errors.ts';
import type { PalletDecl } from '../runtime/pallet.ts';

export const EXISTENTIAL_DEPOSIT = 500n;
const PALLET = 'Balances';

const lookup: FieldSpec[1] = MultiAddress;
const balance = compact(u128);
const who = (name: string): FieldSpec => [name, AccountId32, 'T::AccountId'];
const amount = (name = 'amount'): FieldSpec => [name, u128, 'T::Balance'];

export interface AccountState {
  nonce: number;
  consumers: number;
  providers: number;
  sufficients: number;
  data: { free: bigint; reserved: bigint; frozen: bigint; flags: bigint };
}

const NEW_LOGIC_FLAG = 1n << 127n;

/** Reads System.Account as plain values. */
export function account(ctx: HookContext, who: string): AccountState {
  const v = ctx.store('System').get('Account', who) as any;
  return {
    nonce: v.nonce.toNumber(),
    consumers: v.consumers.toNumber(),
    providers: v.providers.toNumber(),
    sufficients: v.sufficients.toNumber(),
    data: { free: v.data.free.toBigInt(), reserved: v.data.reserved.toBigInt(), frozen: v.data.frozen.toBigInt(), flags: v.data.flags.toBigInt() },
  };
}

export function putAccount(ctx: HookContext, who: string, a: AccountState): void {
  ctx.store('System').put('Account', [who], a);
}

export const freeBalance = (ctx: HookContext, who: string): bigint => account(ctx, who).data.free;

/** Credits an account, creating it (NewAccount, Endowed) when it did not exist. */
export function deposit(ctx: HookContext, who: string, value: bigint, emit = true): void {
  const a = account(ctx, who);
  const isNew = a.providers === 0 && a.data.free === 0n;
  if (isNew && value < EXISTENTIAL_DEPOSIT) throw new DispatchFailure('Token', undefined, 'BelowMinimum');
  a.data.free += value;
  if (isNew) {
    a.providers = 1;
    a.data.flags = NEW_LOGIC_FLAG;
  }
  putAccount(ctx, who, a);
  adjustIssuance(ctx, 0n);
  if (isNew) {
    ctx.deposit('System', 'NewAccount', { account: who });
    if (emit) ctx.deposit(PALLET, 'Endowed', { account: who, freeBalance: value });
  }
}

/** Debits an account; keepAlive refuses to go below the existential deposit. */
export function withdraw(ctx: HookContext, who: string, value: bigint, keepAlive: boolean): void {
  const a = account(ctx, who);
  if (a.data.free < value) throw new DispatchFailure('Token', undefined, 'FundsUnavailable');
  const left = a.data.free - value;
  if (keepAlive && left < EXISTENTIAL_DEPOSIT) throw new DispatchFailure('Token', undefined, 'NotExpendable');
  a.data.free = left;
  putAccount(ctx, who, a);
}

export function transfer(ctx: HookContext, from: string, to: string, value: bigint, keepAlive: boolean): void {
  if (from === to || value === 0n) return;
  withdraw(ctx, from, value, keepAlive);
  deposit(ctx, to, value);
  ctx.deposit(PALLET, 'Transfer', { from, to, amount: value });
}

function adjustIssuance(ctx: HookContext, delta: bigint): void {
  if (delta === 0n) return;
  const s = ctx.store(PALLET);
  s.put('TotalIssuance', [], (s.get('TotalIssuance') as any).toBigInt() + delta);
}

/** Mints `value` into an account (genesis, faucet). */
export function mint(ctx: HookContext, who: string, value: bigint): void {
  deposit(ctx, who, value);
  adjustIssuance(ctx, value);
}

const dest = (args: Record<string, any>, key: string): string => {
  const addr = args[key];
  // GenericMultiAddress is not a plain Enum: it exposes `type` and `inner`.
  if (addr.type !== 'Id') throw new DispatchFailure('CannotLookup');
  return u8aToHex(addr.inner.toU8a());
};

function transferCall(keepAlive: boolean) {
  return (ctx: CallContext, args: Record<string, any>) =>
    transfer(ctx, ctx.signer(), dest(args, 'dest'), args.value.toBigInt(), keepAlive);
}

export interface BalancesConfig {
  /** [account hex, balance] minted at genesis. */
  endowed: Array<[string, bigint]>;
}

export function balancesPallet(config: BalancesConfig): PalletDecl {
  return {
    name: PALLET,
    index: 20,
    typePath: 'pallet_balances::pallet',
    typeParams: phantom('T', 'I'),
    storage: [
      { name: 'TotalIssuance', modifier: 'Default', type: { plain: u128 } },
      { name: 'InactiveIssuance', modifier: 'Default', type: { plain: u128 } },
    ],
    calls: [
      { name: 'transfer_allow_death', index: 0, args: [['dest', lookup, 'AccountIdLookupOf<T>'], ['value', balance, 'T::Balance']], run: transferCall(false) },
      {
        name: 'force_transfer', index: 2, root: true,
        args: [['source', lookup, 'AccountIdLookupOf<T>'], ['dest', lookup, 'AccountIdLookupOf<T>'], ['value', balance, 'T::Balance']],
        run: (ctx, a: any) => transfer(ctx, dest(a, 'source'), dest(a, 'dest'), a.value.toBigInt(), false),
      },
      { name: 'transfer_keep_alive', index: 3, args: [['dest', lookup, 'AccountIdLookupOf<T>'], ['value', balance, 'T::Balance']], run: transferCall(true) },
      {
        name: 'transfer_all', index: 4, args: [['dest', lookup, 'AccountIdLookupOf<T>'], ['keep_alive', bool, 'bool']],
        run: (ctx, a: any) => {
          const from = ctx.signer();
          const keep = a.keep_alive.isTrue;
          const free = freeBalance(ctx, from);
          transfer(ctx, from, dest(a, 'dest'), keep ? free - EXISTENTIAL_DEPOSIT : free, keep);
        },
      },
      { name: 'upgrade_accounts', index: 6, args: [['who', seq(AccountId32), 'Vec<T::AccountId>']] },
      { name: 'transfer', index: 7, args: [['dest', lookup, 'AccountIdLookupOf<T>'], ['value', balance, 'T::Balance']], run: transferCall(false) },
      {
        name: 'force_set_balance', index: 8, root: true,
        args: [['who', lookup, 'AccountIdLookupOf<T>'], ['new_free', balance, 'T::Balance']],
        run: (ctx, a: any) => {
          const target = dest(a, 'who');
          const value = a.new_free.toBigInt();
          const acc = account(ctx, target);
          if (acc.providers === 0) deposit(ctx, target, value, false);
          else putAccount(ctx, target, { ...acc, data: { ...acc.data, free: value } });
          ctx.deposit(PALLET, 'BalanceSet', { who: target, free: value });
        },
      },
    ],
    events: [
      ['Endowed', [who('account'), amount('free_balance')]],
      ['DustLost', [who('account'), amount()]],
      ['Transfer', [who('from'), who('to'), amount()]],
      ['BalanceSet', [who('who'), amount('free')]],
      ['Reserved', [who('who'), amount()]],
      ['Unreserved', [who('who'), amount()]],
      ['Deposit', [who('who'), amount()], 7],
      ['Withdraw', [who('who'), amount()], 8],
      ['Slashed', [who('who'), amount()], 9],
      ['Minted', [who('who'), amount()], 10],
      ['Burned', [who('who'), amount()], 11],
    ],
    errors: [
      'VestingBalance', 'LiquidityRestrictions', 'InsufficientBalance', 'ExistentialDeposit', 'Expendability',
      'ExistingVestingSchedule', 'DeadAccount', 'TooManyReserves', 'TooManyHolds', 'TooManyFreezes',
    ],
    constants: [
      { name: 'ExistentialDeposit', type: u128, value: EXISTENTIAL_DEPOSIT },
      { name: 'MaxLocks', type: u32, value: 50 },
      { name: 'MaxReserves', type: u32, value: 50 },
      { name: 'MaxHolds', type: u32, value: 0 },
      { name: 'MaxFreezes', type: u32, value: 0 },
    ],
    genesis: (ctx) => {
      for (const [acct, value] of config.endowed) mint(ctx, acct, value);
    },
  };
}

