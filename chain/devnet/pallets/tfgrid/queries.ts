/**
 * Typed access to TfgridModule storage for this pallet and for others
 * (SmartContractModule reads twins, farms, nodes and power; it reserves farm IPs
 * with putFarm). Accounts are 0x hex AccountId32.
 */
import type { Codec } from '@polkadot/types/types';
import type { HookContext } from '../../runtime/context.ts';
import {
  bytesOf, farmFromCodec, farmingPolicyFromCodec, farmToInput, nodeFromCodec, nodePowerFromCodec, nodeToInput, pricingPolicyFromCodec,
  termsFromCodec, twinFromCodec, twinToInput, type FarmInfo, type FarmingPolicyInfo, type NodeInfo, type NodePowerInfo,
  type PricingPolicyInfo, type TermsAndConditionsInfo, type TwinInfo,
} from './model.ts';

export const TFGRID = 'TfgridModule';

const store = (ctx: HookContext) => ctx.store(TFGRID);
const num = (ctx: HookContext, item: string, ...keys: unknown[]): number => store(ctx).json<number>(item, ...keys) ?? 0;

/** Twin id of an account, or null when it has none. */
export function twinIdOf(ctx: HookContext, account: string): number | null {
  return store(ctx).json<number>('TwinIdByAccountID', account);
}

export function getTwin(ctx: HookContext, id: number): TwinInfo | null {
  const c = store(ctx).get('Twins', id);
  return c === null ? null : twinFromCodec(c);
}

/** The account bonded to a twin with bond_twin_account, or null. */
export function twinBondedAccount(ctx: HookContext, twinId: number): string | null {
  const c = store(ctx).get('TwinBoundedAccountID', twinId);
  return c === null ? null : c.toHex();
}

export function getFarm(ctx: HookContext, id: number): FarmInfo | null {
  const c = store(ctx).get('Farms', id);
  return c === null ? null : farmFromCodec(c);
}

/** Farm id by its exact name, or null. */
export function farmIdByName(ctx: HookContext, name: string): number | null {
  const id = num(ctx, 'FarmIdByName', bytesOf(name));
  return id === 0 ? null : id;
}

export function getNode(ctx: HookContext, id: number): NodeInfo | null {
  const c = store(ctx).get('Nodes', id);
  return c === null ? null : nodeFromCodec(c);
}

/** Node id registered by a twin, or null. */
export function nodeIdOfTwin(ctx: HookContext, twinId: number): number | null {
  return store(ctx).has('NodeIdByTwinID', twinId) ? num(ctx, 'NodeIdByTwinID', twinId) : null;
}

export function nodesOfFarm(ctx: HookContext, farmId: number): number[] {
  return store(ctx).json<number[]>('NodesByFarmID', farmId) ?? [];
}

/** Power state and target of a node ({Up, Up} when never changed). */
export function nodePower(ctx: HookContext, nodeId: number): NodePowerInfo {
  return nodePowerFromCodec(store(ctx).get('NodePower', nodeId)!);
}

export function getPricingPolicy(ctx: HookContext, id: number): PricingPolicyInfo | null {
  const c = store(ctx).get('PricingPolicies', id);
  return c === null ? null : pricingPolicyFromCodec(c);
}

/** A farming policy, or null when absent (the storage item itself defaults to zeros). */
export function getFarmingPolicy(ctx: HookContext, id: number): FarmingPolicyInfo | null {
  return store(ctx).has('FarmingPoliciesMap', id) ? farmingPolicyFromCodec(store(ctx).get('FarmingPoliciesMap', id)!) : null;
}

export function allFarmingPolicies(ctx: HookContext): FarmingPolicyInfo[] {
  return store(ctx).values('FarmingPoliciesMap').map(farmingPolicyFromCodec);
}

export const connectionPrice = (ctx: HookContext): number => num(ctx, 'ConnectionPrice');

export function termsAccepted(ctx: HookContext, account: string): TermsAndConditionsInfo[] {
  const c = store(ctx).get('UsersTermsAndConditions', account);
  return c === null ? [] : (c as unknown as Codec[]).map(termsFromCodec);
}

/** Whether `account` owns the farm (through the farm's twin), as tfchain's is_farm_owner. */
export function isFarmOwner(ctx: HookContext, farmId: number, account: string): boolean {
  const farm = getFarm(ctx, farmId);
  return farm !== null && getTwin(ctx, farm.twinId)?.accountId === account.toLowerCase();
}

// ---- writes ----

export const putTwin = (ctx: HookContext, twin: TwinInfo): void => store(ctx).put('Twins', [twin.id], twinToInput(twin));
/** Stores a farm; SmartContractModule uses it to set PublicIP.contractId when reserving or releasing IPs. */
export const putFarm = (ctx: HookContext, farm: FarmInfo): void => store(ctx).put('Farms', [farm.id], farmToInput(farm));
export const putNode = (ctx: HookContext, node: NodeInfo): void => store(ctx).put('Nodes', [node.id], nodeToInput(node));
export const putNodePower = (ctx: HookContext, nodeId: number, power: NodePowerInfo): void =>
  store(ctx).put('NodePower', [nodeId], power);

