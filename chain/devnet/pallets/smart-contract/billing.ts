/**
 * The billing cycle, modelled on tfchain 2.9: each cycle the contract's cost since
 * its last bill is moved from the twin's free balance into its reserved balance
 * (ContractPaymentState.*Reserve). Every `distributionCycles` cycles, and when the
 * contract ends, the reserve is paid out: the contract's solution providers take
 * their share, then 50% goes to the farmer (the foundation for name contracts),
 * 40% to the pricing policy's foundation account and 10% to the staking pool; the
 * dedicated-node extra fee goes wholly to the farmer. Whatever
 * cannot be paid becomes an overdraft and starts the grace period; paying it off
 * ends the grace period; a grace period older than `gracePeriodBlocks` deletes
 * the contract (OutOfFunds).
 */
import { account, deposit, EXISTENTIAL_DEPOSIT, putAccount } from '../balances.ts';
import { billingTftPrice } from '../tft-price.ts';
import type { HookContext } from '../../runtime/context.ts';
import {
  applyDiscount, discountFor, extraFeeCost, ipCost, nameCost, rentCost, resourcesCost, usdToTft, type DiscountName,
} from './cost.ts';
import { deactivate, fail, removeContract } from './lifecycle.ts';
import { providerShares } from './providers.ts';
import {
  activeNodeContractIds, activeRentContractFor, billingFrequency, contractsToBillAt, dedicatedNodeExtraFee, getBillingInfo, getContract, getPaymentState,
  putBillingInfo, putContract, putPaymentState, usedResources,
} from './storage.ts';
import { getFarm, getNode, pricingPolicy, twinAccount, type PricingPolicyInfo } from './tfgrid.ts';
import { PALLET, type CauseName, type ContractValue, type PaymentStateValue } from './types.ts';

export interface BillingConfig {
  /** Blocks a contract may stay in grace before it is deleted (tfchain: 14 days = 201600). */
  gracePeriodBlocks: number;
  /** Cycles between reward distributions (tfchain: 24). */
  distributionCycles: number;
  /** Receives the 10% staking share; the foundation account when null. */
  stakingPoolAccount: string | null;
}

export const BILLING_DEFAULTS: BillingConfig = { gracePeriodBlocks: 201_600, distributionCycles: 24, stakingPoolAccount: null };

/** Billing reads pricing policy 1, as tfchain does. */
const PRICING_POLICY_ID = 1;

interface Due {
  standard: bigint;
  additional: bigint;
  discount: DiscountName;
}

/** Cost in TFT units of `contract` over `seconds`, plus the unbilled NRU of its billing information. */
function amountDue(ctx: HookContext, contract: ContractValue, policy: PricingPolicyInfo, seconds: bigint, balance: bigint): Due {
  const price = billingTftPrice(ctx);
  if (price <= 0) fail(ctx, 'TFTPriceValueError');
  const t = contract.contractType;
  let usd = 0n;
  let extraUsd = 0n;
  if (t.kind === 'NodeContract') {
    // On a rented node the renter pays for the capacity; node contracts pay for IPs only.
    if (activeRentContractFor(ctx, t.nodeId) === null) usd += resourcesCost(usedResources(ctx, contract.contractId), policy, seconds);
    usd += ipCost(t.publicIps, policy, seconds);
    usd += getBillingInfo(ctx, contract.contractId).amountUnbilled;
  } else if (t.kind === 'NameContract') {
    usd += nameCost(policy, seconds);
  } else {
    const node = getNode(ctx, t.nodeId);
    if (node) usd += rentCost(node.resources, policy, seconds);
    extraUsd += extraFeeCost(dedicatedNodeExtraFee(ctx, t.nodeId), seconds);
  }
  const standard = usdToTft(usd, price);
  const { level, percent } = discountFor(balance, standard, seconds);
  return { standard: applyDiscount(standard, percent), additional: usdToTft(extraUsd, price), discount: level };
}

/** Moves `amount` of the twin's free balance (above the existential deposit) to reserved. */
function reserve(ctx: HookContext, who: string, amount: bigint): void {
  if (amount === 0n) return;
  const a = account(ctx, who);
  putAccount(ctx, who, { ...a, data: { ...a.data, free: a.data.free - amount, reserved: a.data.reserved + amount } });
  ctx.deposit('Balances', 'Reserved', { who, amount });
}

const spendable = (ctx: HookContext, who: string): bigint => {
  const free = account(ctx, who).data.free;
  return free > EXISTENTIAL_DEPOSIT ? free - EXISTENTIAL_DEPOSIT : 0n;
};

/** Credits `amount` unless that would create an account below the existential deposit (the dust is dropped). */
function credit(ctx: HookContext, who: string, amount: bigint): void {
  if (amount === 0n) return;
  const a = account(ctx, who);
  if (a.providers === 0 && amount < EXISTENTIAL_DEPOSIT) return;
  deposit(ctx, who, amount);
}

/** Pays out the contract's reserve and clears it. */
function distribute(ctx: HookContext, cfg: BillingConfig, contract: ContractValue, twin: string, ps: PaymentStateValue, policy: PricingPolicyInfo): void {
  const total = ps.standardReserve + ps.additionalReserve;
  if (total === 0n) return;
  const a = account(ctx, twin);
  putAccount(ctx, twin, { ...a, data: { ...a.data, reserved: a.data.reserved - total } });
  const t = contract.contractType;
  const node = t.kind === 'NameContract' ? null : getNode(ctx, t.nodeId);
  const farm = node && getFarm(ctx, node.farmId);
  const farmer = (farm && twinAccount(ctx, farm.twinId)) ?? policy.foundationAccount;
  // Solution providers take their share first; the rest is split 50/10/40.
  let rest = ps.standardReserve;
  for (const p of providerShares(ctx, contract.solutionProviderId)) {
    const share = (ps.standardReserve * BigInt(p.take)) / 100n;
    credit(ctx, p.who, share);
    rest -= share;
  }
  const farmerShare = (rest * 50n) / 100n;
  const stakingShare = (rest * 10n) / 100n;
  credit(ctx, farmer, farmerShare + ps.additionalReserve);
  credit(ctx, cfg.stakingPoolAccount ?? policy.foundationAccount, stakingShare);
  credit(ctx, policy.foundationAccount, rest - farmerShare - stakingShare);
  ctx.deposit(PALLET, 'RewardDistributed', {
    contractId: contract.contractId, standardRewards: ps.standardReserve, additionalRewards: ps.additionalReserve,
  });
  ps.standardReserve = 0n;
  ps.additionalReserve = 0n;
}

const nodeOf = (c: ContractValue): number => (c.contractType.kind === 'NameContract' ? 0 : c.contractType.nodeId);

/**
 * Bills one contract up to now (tfchain `bill_contract`). `final` is the bill of a
 * contract being deleted: it always distributes and never changes the state.
 * Returns false when the contract was deleted for lack of funds.
 */
export function billContract(ctx: HookContext, cfg: BillingConfig, contract: ContractValue, final = false): boolean {
  const id = contract.contractId;
  const ps = getPaymentState(ctx, id) ?? fail(ctx, 'ContractPaymentStateNotExists');
  const policy = pricingPolicy(ctx, PRICING_POLICY_ID) ?? fail(ctx, 'PricingPolicyNotExists');
  const twin = twinAccount(ctx, contract.twinId) ?? fail(ctx, 'TwinNotExists');
  const now = ctx.nowSeconds;
  const seconds = BigInt(Math.max(0, now - ps.lastUpdatedSeconds));
  const due = amountDue(ctx, contract, policy, seconds, account(ctx, twin).data.free);
  ps.lastUpdatedSeconds = Math.max(ps.lastUpdatedSeconds, now);
  if (contract.contractType.kind === 'NodeContract') {
    const info = getBillingInfo(ctx, id);
    if (info.amountUnbilled !== 0n) putBillingInfo(ctx, id, { ...info, amountUnbilled: 0n, lastUpdated: now });
  }

  const dueStandard = due.standard + ps.standardOverdraft;
  const dueAdditional = due.additional + ps.additionalOverdraft;
  const available = spendable(ctx, twin);
  const payStandard = dueStandard < available ? dueStandard : available;
  const payAdditional = dueAdditional < available - payStandard ? dueAdditional : available - payStandard;
  reserve(ctx, twin, payStandard + payAdditional);
  ps.standardReserve += payStandard;
  ps.additionalReserve += payAdditional;
  ps.standardOverdraft = dueStandard - payStandard;
  ps.additionalOverdraft = dueAdditional - payAdditional;
  const billed = due.standard + due.additional;
  if (billed > 0n) {
    ctx.deposit(PALLET, 'ContractBilled', { contractId: id, timestamp: now, discountLevel: due.discount, amountBilled: billed });
  }
  const overdraft = ps.standardOverdraft + ps.additionalOverdraft;
  if (overdraft > 0n && !final) {
    ctx.deposit(PALLET, 'ContractPaymentOverdrawn', {
      contractId: id, timestamp: now, partiallyBilledAmount: payStandard + payAdditional, overdraft,
    });
  }
  ps.cycles += 1;
  if (final || ps.cycles >= cfg.distributionCycles) {
    distribute(ctx, cfg, contract, twin, ps, policy);
    ps.cycles = 0;
  }
  putPaymentState(ctx, id, ps);
  if (final) return true;
  return updateGraceState(ctx, cfg, contract, overdraft > 0n);
}

const graceIds = (c: ContractValue) => ({ contractId: c.contractId, nodeId: nodeOf(c), twinId: c.twinId });

function startGrace(ctx: HookContext, contract: ContractValue, block: number): void {
  putContract(ctx, { ...contract, state: { kind: 'GracePeriod', block } });
  ctx.deposit(PALLET, 'ContractGracePeriodStarted', { ...graceIds(contract), blockNumber: block });
}

function endGrace(ctx: HookContext, contract: ContractValue): void {
  putContract(ctx, { ...contract, state: { kind: 'Created' } });
  ctx.deposit(PALLET, 'ContractGracePeriodEnded', graceIds(contract));
}

/** The live node contracts on a rent contract's node. */
const rentedNodeContracts = (ctx: HookContext, rent: ContractValue): ContractValue[] =>
  rent.contractType.kind === 'RentContract'
    ? activeNodeContractIds(ctx, rent.contractType.nodeId).flatMap((id) => getContract(ctx, id) ?? [])
    : [];

/** Whether a node contract sits on a node whose rent contract is in grace (it then shares that grace). */
function underGracedRent(ctx: HookContext, contract: ContractValue): boolean {
  if (contract.contractType.kind !== 'NodeContract') return false;
  const rentId = activeRentContractFor(ctx, contract.contractType.nodeId);
  return rentId !== null && getContract(ctx, rentId)?.state.kind === 'GracePeriod';
}

const ownOverdraft = (ctx: HookContext, id: number): bigint => {
  const ps = getPaymentState(ctx, id);
  return ps ? ps.standardOverdraft + ps.additionalOverdraft : 0n;
};

/**
 * Grace period transitions after a bill; deletes the contract when its grace has
 * elapsed. A rent contract carries the node contracts of its node along: they
 * enter grace with it, leave it with it (unless overdrawn themselves) and are
 * deleted before it.
 */
function updateGraceState(ctx: HookContext, cfg: BillingConfig, contract: ContractValue, overdrawn: boolean): boolean {
  const block = ctx.blockNumber;
  const state = contract.state;
  if (overdrawn && state.kind === 'Created') {
    startGrace(ctx, contract, block);
    for (const nc of rentedNodeContracts(ctx, contract)) if (nc.state.kind === 'Created') startGrace(ctx, nc, block);
  } else if (overdrawn && state.kind === 'GracePeriod' && block >= state.block + cfg.gracePeriodBlocks) {
    ctx.deposit(PALLET, 'ContractGracePeriodElapsed', { contractId: contract.contractId, gracePeriod: cfg.gracePeriodBlocks });
    for (const nc of rentedNodeContracts(ctx, contract)) terminateContract(ctx, cfg, nc, 'OutOfFunds');
    terminateContract(ctx, cfg, contract, 'OutOfFunds');
    return false;
  } else if (!overdrawn && state.kind === 'GracePeriod' && !underGracedRent(ctx, contract)) {
    endGrace(ctx, contract);
    for (const nc of rentedNodeContracts(ctx, contract)) {
      if (nc.state.kind === 'GracePeriod' && ownOverdraft(ctx, nc.contractId) === 0n) endGrace(ctx, nc);
    }
  }
  return true;
}

/**
 * Ends a contract: state Deleted(cause), off the node's active list, a final bill
 * that pays out the reserve, then every map is cleared and the cancel event sent.
 */
export function terminateContract(ctx: HookContext, cfg: BillingConfig, contract: ContractValue, cause: CauseName): void {
  const deleted: ContractValue = { ...contract, state: { kind: 'Deleted', cause } };
  putContract(ctx, deleted);
  deactivate(ctx, deleted);
  billContract(ctx, cfg, deleted, true);
  removeContract(ctx, deleted);
}

/**
 * on_finalize: bills the contracts of this block's slot of the billing loop
 * (ContractsToBillAt[block % BillingFrequency]). A contract whose bill fails has
 * its storage writes rolled back and is retried next round; the failure must not
 * stop block production, so it is counted in `failures` rather than thrown.
 */
export function billBlock(ctx: HookContext, cfg: BillingConfig, failures?: (id: number, err: unknown) => void): void {
  const slot = ctx.blockNumber % billingFrequency(ctx);
  for (const id of contractsToBillAt(ctx, slot)) {
    try {
      ctx.runtime.state.transactional(() => {
        const contract = getContract(ctx, id);
        if (contract) billContract(ctx, cfg, contract);
      });
    } catch (err) {
      failures?.(id, err);
    }
  }
}
