/**
 * Pure cost arithmetic of the billing cycle. Prices of a pricing policy are in
 * "USD units" (1 USD = 1e7) per hour; TFT amounts are in TFT units (1 TFT = 1e7);
 * the TFT price is in mUSD. Fractions use fixed point with PRECISION and always
 * round down, so billing is deterministic.
 */
import type { PricingPolicyInfo } from './tfgrid.ts';
import type { ResourcesValue } from './types.ts';

const PRECISION = 1_000_000_000n;
const HOUR = 3600n;
/** Extra fees of dedicated nodes are in mUSD per 30-day month. */
export const MONTH_SECONDS = 30n * 24n * 3600n;
/** 1 mUSD in USD units. */
const MUSD = 10_000n;

const max = (a: bigint, b: bigint) => (a > b ? a : b);
const min = (...xs: bigint[]) => xs.reduce((a, b) => (a < b ? a : b));

/** Storage units (fixed point): hru / 1200 GB + sru / 200 GB. */
export function storageUnits(r: ResourcesValue, gb: bigint): bigint {
  return (r.hru * PRECISION) / gb / 1200n + (r.sru * PRECISION) / gb / 200n;
}

/** Compute units (fixed point): min(max(mru/4, cru/2), max(mru/8, cru), max(mru/2, cru/4)) with mru in GB. */
export function computeUnits(r: ResourcesValue, gb: bigint): bigint {
  const mru = (r.mru * PRECISION) / gb;
  const cru = r.cru * PRECISION;
  return min(max(mru / 4n, cru / 2n), max(mru / 8n, cru), max(mru / 2n, cru / 4n));
}

/** USD units for running `r` during `seconds`. */
export function resourcesCost(r: ResourcesValue, policy: PricingPolicyInfo, seconds: bigint): bigint {
  const su = storageUnits(r, policy.su.factor) * policy.su.value;
  const cu = computeUnits(r, policy.cu.factor) * policy.cu.value;
  return ((su + cu) * seconds) / HOUR / PRECISION;
}

export const ipCost = (ips: number, policy: PricingPolicyInfo, seconds: bigint): bigint => (BigInt(ips) * policy.ipu.value * seconds) / HOUR;

export const nameCost = (policy: PricingPolicyInfo, seconds: bigint): bigint => (policy.uniqueName.value * seconds) / HOUR;

/** USD units for `nru` bytes of public traffic (the NU price is per unit of data, not per hour). */
export const nruCost = (nru: bigint, policy: PricingPolicyInfo): bigint => (nru * policy.nu.value) / policy.nu.factor;

/** Rent of a whole node, less the policy's dedication discount (percent). */
export const rentCost = (node: ResourcesValue, policy: PricingPolicyInfo, seconds: bigint): bigint =>
  (resourcesCost(node, policy, seconds) * BigInt(100 - policy.discountForDedicationNodes)) / 100n;

export const extraFeeCost = (extraFeeMusdPerMonth: bigint, seconds: bigint): bigint => (extraFeeMusdPerMonth * MUSD * seconds) / MONTH_SECONDS;

/** USD units to TFT units at `priceMusd` mUSD per TFT. */
export const usdToTft = (usd: bigint, priceMusd: number): bigint => (usd * 1000n) / BigInt(priceMusd);

export type DiscountName = 'None' | 'Default' | 'Bronze' | 'Silver' | 'Gold';

/**
 * The staking discount: how many months of this contract's cost the balance
 * covers (>= 36 Gold 60%, >= 12 Silver 40%, >= 6 Bronze 30%, >= 1.5 Default 20%).
 */
export function discountFor(balance: bigint, amount: bigint, seconds: bigint): { level: DiscountName; percent: bigint } {
  if (amount === 0n || seconds === 0n) return { level: 'None', percent: 0n };
  const monthly = (amount * MONTH_SECONDS) / seconds;
  if (monthly === 0n) return { level: 'Gold', percent: 60n };
  const tenthsOfMonths = (balance * 10n) / monthly;
  if (tenthsOfMonths >= 360n) return { level: 'Gold', percent: 60n };
  if (tenthsOfMonths >= 120n) return { level: 'Silver', percent: 40n };
  if (tenthsOfMonths >= 60n) return { level: 'Bronze', percent: 30n };
  if (tenthsOfMonths >= 15n) return { level: 'Default', percent: 20n };
  return { level: 'None', percent: 0n };
}

export const applyDiscount = (amount: bigint, percent: bigint): bigint => (amount * (100n - percent)) / 100n;
