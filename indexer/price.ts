/**
 * A node's monthly price in USD as gridproxy computes it (its setup.sql: calc_price into the
 * resources cache, calc_discount when a node is read). Facts, all from the chain: the node's total
 * resources, its certification and extra fee, and the CU and SU values of its farm's pricing policy
 * (policy 1 when the farm names 0). The TFT price plays no part (the result is USD), nor does the
 * policy's discount for dedicated nodes; the only discount is the staking one for a `balance` the
 * caller gives. Pure: no I/O.
 */

const GIB = 1024 ** 3;
/** Hours in gridproxy's month. */
const MONTH_HOURS = 24 * 30;
/** Policy values are in 1e-7 USD per unit and hour. */
const POLICY_UNIT_USD = 1e7;
const CERTIFIED_FACTOR = 1.25;

export interface PriceFacts {
  /** Total resources: cores, and bytes for the rest. */
  cru: number;
  sru: number;
  hru: number;
  mru: number;
  certified: boolean;
  /**
   * The node's extra fee (smartContractModule.DedicatedNodesExtraFee). tfchain bills it as mUSD a month; gridproxy adds
   * it as is to the hourly unit prices (1e-7 USD), and so do we: this is its answer, not the bill.
   */
  extraFee: number;
  /** The pricing policy's cu.value and su.value. */
  cu: number;
  su: number;
}

/** Compute units of a node: the least of three CPU/memory mixes (memory in GiB). */
export function computeUnits(cru: number, mruGib: number): number {
  return Math.min(Math.max(mruGib / 4, cru / 2), Math.max(mruGib / 8, cru), Math.max(mruGib / 2, cru / 4));
}

/** Storage units: HDD at 1200 GiB and SSD at 200 GiB a unit. */
export function storageUnits(hruGib: number, sruGib: number): number {
  return hruGib / 1200 + sruGib / 200;
}

/** The undiscounted, unrounded monthly price in USD. */
export function nodePriceUsd(f: PriceFacts): number {
  const cu = computeUnits(f.cru, f.mru / GIB);
  const su = storageUnits(f.hru / GIB, f.sru / GIB);
  const hourly = (cu * f.cu + su * f.su + f.extraFee) * (f.certified ? CERTIFIED_FACTOR : 1);
  return (hourly * MONTH_HOURS) / POLICY_UNIT_USD;
}

/** SQL for the pricing policy of a farm `f`'s nodes: gridproxy takes policy 1 for a farm naming 0. */
export const FARM_POLICY = '(CASE WHEN f.pricing_policy_id = 0 THEN 1 ELSE f.pricing_policy_id END)';

/** The staking discount tiers: a balance of at least `times` the monthly price takes off `off`. */
const TIERS = [
  { times: 18, off: 0.6 },
  { times: 6, off: 0.4 },
  { times: 3, off: 0.3 },
  { times: 1.5, off: 0.2 },
] as const;

/** `price_usd` as gridproxy answers it: discounted for `balance` (USD), rounded to 3 decimals. */
export function priceUsdAnswer(price: number, balance: number): number {
  const off = TIERS.find((t) => balance >= price * t.times)?.off ?? 0;
  return Math.round((price - price * off) * 1000) / 1000;
}

/** The same discount as SQL over a price column (for price_min, price_max and sorting); `balance` is a parsed number. */
export function discountedPriceSql(col: string, balance: number): string {
  if (!Number.isFinite(balance)) throw new Error('balance must be a finite number');
  const b = String(balance);
  const cases = TIERS.map((t) => `WHEN ${b} >= ${col} * ${t.times} THEN ${t.off}`).join(' ');
  return `(${col} - ${col} * (CASE ${cases} ELSE 0 END))`;
}
