/**
 * The slice of TfgridModule the smart-contract pallet uses, over tfgrid's own
 * queries: twins, nodes, farms (whose public IPs contracts reserve), node power
 * and the pricing policy billing reads.
 */
import type { HookContext } from '../../runtime/context.ts';
import * as grid from '../tfgrid/queries.ts';
import type { PolicyInfo } from '../tfgrid/model.ts';
import type { PublicIpValue, ResourcesValue } from './types.ts';

export { twinIdOf, getFarm } from '../tfgrid/queries.ts';
export type { FarmInfo } from '../tfgrid/model.ts';

export interface NodeInfo {
  id: number;
  farmId: number;
  twinId: number;
  resources: ResourcesValue;
}

export interface UnitPrice {
  value: bigint;
  /** Bytes per unit (1024^n), for per-GB prices. */
  factor: bigint;
}

export interface PricingPolicyInfo {
  id: number;
  su: UnitPrice;
  cu: UnitPrice;
  nu: UnitPrice;
  ipu: UnitPrice;
  uniqueName: UnitPrice;
  foundationAccount: string;
  discountForDedicationNodes: number;
}

/** The twin's account (0x hex), or null when the twin does not exist. */
export const twinAccount = (ctx: HookContext, twinId: number): string | null => grid.getTwin(ctx, twinId)?.accountId ?? null;

export function getNode(ctx: HookContext, nodeId: number): NodeInfo | null {
  const n = grid.getNode(ctx, nodeId);
  if (n === null) return null;
  const r = n.resources;
  return { id: n.id, farmId: n.farmId, twinId: n.twinId, resources: { hru: BigInt(r.hru), sru: BigInt(r.sru), cru: BigInt(r.cru), mru: BigInt(r.mru) } };
}

/** The node a twin registered, or 0. */
export const nodeIdOfTwin = (ctx: HookContext, twinId: number): number => grid.nodeIdOfTwin(ctx, twinId) ?? 0;

/** Rewrites a farm's public IP list (reservation and release), keeping every other field. */
export function putFarmPublicIps(ctx: HookContext, farmId: number, ips: PublicIpValue[]): void {
  const farm = grid.getFarm(ctx, farmId);
  if (farm) grid.putFarm(ctx, { ...farm, publicIps: ips });
}

/** A node in standby (power state Down) or asked to go Down takes no new deployments. */
export function nodeAvailable(ctx: HookContext, nodeId: number): boolean {
  const p = grid.nodePower(ctx, nodeId);
  return p.state === 'Up' && p.target === 'Up';
}

const UNIT_FACTORS = { Bytes: 1n, Kilobytes: 1024n, Megabytes: 1024n ** 2n, Gigabytes: 1024n ** 3n, Terrabytes: 1024n ** 4n } as const;
const unitPrice = (p: PolicyInfo): UnitPrice => ({ value: BigInt(p.value), factor: UNIT_FACTORS[p.unit] });

export function pricingPolicy(ctx: HookContext, id: number): PricingPolicyInfo | null {
  const p = grid.getPricingPolicy(ctx, id);
  if (p === null) return null;
  return {
    id: p.id,
    su: unitPrice(p.su),
    cu: unitPrice(p.cu),
    nu: unitPrice(p.nu),
    ipu: unitPrice(p.ipu),
    uniqueName: unitPrice(p.uniqueName),
    foundationAccount: p.foundationAccount,
    discountForDedicationNodes: p.discountForDedicationNodes,
  };
}
