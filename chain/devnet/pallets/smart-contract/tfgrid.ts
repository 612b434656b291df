/**
 * What the smart-contract pallet reads from (and, for public IPs, writes to)
 * TfgridModule storage: twins, nodes, farms, node power and pricing policies.
 * Kept in one place so the rest of the pallet sees plain values.
 */
import { u8aToHex } from '@polkadot/util';
import type { HookContext } from '../../runtime/context.ts';
import type { PublicIpValue, ResourcesValue } from './types.ts';

const TFGRID = 'TfgridModule';

const grid = (ctx: HookContext) => ctx.store(TFGRID);
const hex = (codec: any): string => u8aToHex(codec.toU8a(true));

export interface NodeInfo {
  id: number;
  farmId: number;
  twinId: number;
  resources: ResourcesValue;
  certified: boolean;
}

export interface FarmInfo {
  id: number;
  twinId: number;
  pricingPolicyId: number;
  dedicatedFarm: boolean;
  publicIps: PublicIpValue[];
}

export interface UnitPrice {
  value: bigint;
  /** Bytes per unit (1024^n), for per-GB style prices. */
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
  certifiedSalesAccount: string;
  discountForDedicationNodes: number;
}

export function twinIdOf(ctx: HookContext, account: string): number | null {
  const v = grid(ctx).get('TwinIdByAccountID', account) as any;
  return v === null ? null : v.toNumber();
}

/** The twin's account (0x hex), or null when the twin does not exist. */
export function twinAccount(ctx: HookContext, twinId: number): string | null {
  const twin = grid(ctx).get('Twins', twinId) as any;
  return twin === null ? null : hex(twin.accountId);
}

export const twinExists = (ctx: HookContext, twinId: number): boolean => grid(ctx).has('Twins', twinId);

export function getNode(ctx: HookContext, nodeId: number): NodeInfo | null {
  const n = grid(ctx).get('Nodes', nodeId) as any;
  if (n === null) return null;
  const r = n.resources;
  return {
    id: n.id.toNumber(),
    farmId: n.farmId.toNumber(),
    twinId: n.twinId.toNumber(),
    resources: { hru: r.hru.toBigInt(), sru: r.sru.toBigInt(), cru: r.cru.toBigInt(), mru: r.mru.toBigInt() },
    certified: n.certification.toString() === 'Certified',
  };
}

/** The node a twin registered (NodeIdByTwinID is a value query: 0 means none). */
export const nodeIdOfTwin = (ctx: HookContext, twinId: number): number => (grid(ctx).get('NodeIdByTwinID', twinId) as any).toNumber();

export function getFarm(ctx: HookContext, farmId: number): FarmInfo | null {
  const f = grid(ctx).get('Farms', farmId) as any;
  if (f === null) return null;
  return {
    id: f.id.toNumber(),
    twinId: f.twinId.toNumber(),
    pricingPolicyId: f.pricingPolicyId.toNumber(),
    dedicatedFarm: f.dedicatedFarm.isTrue,
    publicIps: f.publicIps.map((ip: any) => ({ ip: hex(ip.ip), gateway: hex(ip.gateway), contractId: ip.contractId.toNumber() })),
  };
}

/** Rewrites a farm's public IP list (reservation and release), keeping every other field. */
export function putFarmPublicIps(ctx: HookContext, farmId: number, ips: PublicIpValue[]): void {
  const farm = grid(ctx).get('Farms', farmId) as any;
  if (farm === null) return;
  const json = farm.toJSON();
  json.publicIps = ips.map((ip) => ({ ip: ip.ip, gateway: ip.gateway, contractId: ip.contractId }));
  grid(ctx).put('Farms', [farmId], json);
}

/** A node in standby (power state Down) or asked to go Down cannot take new deployments. */
export function nodeAvailable(ctx: HookContext, nodeId: number): boolean {
  const p = grid(ctx).get('NodePower', nodeId) as any;
  if (p === null) return true;
  return !p.state.isDown && !p.target.isDown;
}

const UNIT_FACTORS: Record<string, bigint> = {
  Bytes: 1n,
  Kilobytes: 1024n,
  Megabytes: 1024n ** 2n,
  Gigabytes: 1024n ** 3n,
  Terrabytes: 1024n ** 4n,
};

function unitPrice(p: any): UnitPrice {
  return { value: BigInt(p.value.toNumber()), factor: UNIT_FACTORS[p.unit.toString()] ?? 1024n ** 3n };
}

export function pricingPolicy(ctx: HookContext, id: number): PricingPolicyInfo | null {
  const p = grid(ctx).get('PricingPolicies', id) as any;
  if (p === null) return null;
  return {
    id: p.id.toNumber(),
    su: unitPrice(p.su),
    cu: unitPrice(p.cu),
    nu: unitPrice(p.nu),
    ipu: unitPrice(p.ipu),
    uniqueName: unitPrice(p.uniqueName),
    foundationAccount: hex(p.foundationAccount),
    certifiedSalesAccount: hex(p.certifiedSalesAccount),
    discountForDedicationNodes: p.discountForDedicationNodes.toNumber(),
  };
}
