/**
 * Pricing and farming policies: the root-only policy calls, the connection price,
 * ZOS version and storage version, and tfchain's farming-policy choice for a node.
 */
import { AccountId32 } from '../../metadata/common-types.ts';
import { bool, u16, u32, u8, type FieldSpec } from '../../metadata/scale-info.ts';
import type { CallContext, HookContext } from '../../runtime/context.ts';
import type { CallArgs, CallDecl } from '../../runtime/pallet.ts';
import { ensure, fail, flag, num, text, u32Arg, variant, vecArg } from './call-kit.ts';
import {
  bytesOf, farmToInput, farmingPolicyToInput, pricingPolicyToInput, type FarmCertificationName, type FarmingPolicyInfo, type Hex,
  type NodeCertificationName, type NodeInfo, type PolicyInfo, type PricingPolicyInfo, type ResourcesInfo, type UnitName,
} from './model.ts';
import { allFarmingPolicies, getFarm, getFarmingPolicy, getPricingPolicy, putFarm, TFGRID } from './queries.ts';
import { FarmCertification, NodeCertification, Policy, StorageVersion } from './types.ts';

const POLICY_VERSION = 1;

// ---- resource units (tfchain_support::resources) ----

const GIB = 1024n ** 3n;
const U64 = (1n << 64n) - 1n;

/** Compute units of a node's resources, with tfchain's integer arithmetic. */
export function computeUnits(r: ResourcesInfo): number {
  const cru = (BigInt(r.cru) * 2n * GIB * 1000n) & U64;
  const mru = (((BigInt(r.mru) > 0n ? BigInt(r.mru) - 1n : 0n) * GIB * 1000n) / 4n) & U64;
  const sru = ((BigInt(r.sru) * 1000n) / 50n) & U64;
  const min = cru < mru && cru < sru ? cru : mru < cru && mru < sru ? mru : sru < cru && sru < mru ? sru : 0n;
  return Number(2n * (min / GIB / 1000n));
}

/** Storage units of a node's resources. */
export function storageUnits(r: ResourcesInfo): number {
  const su = (BigInt(r.hru) * 1000n) / 1200n + (BigInt(r.sru) * 1000n) / 250n;
  return Number(su / GIB / 1000n);
}

// ---- farming policy choice (pricing.rs get_farming_policy) ----

const NODE_RANK: Record<NodeCertificationName, number> = { Diy: 0, Certified: 1 };
const FARM_RANK: Record<FarmCertificationName, number> = { NotCertified: 0, Gold: 1 };

/** Default policies first, then most certified farm, most certified node, highest id. */
function byPreference(a: FarmingPolicyInfo, b: FarmingPolicyInfo): number {
  return (
    Number(b.default) - Number(a.default) ||
    FARM_RANK[b.farmCertification] - FARM_RANK[a.farmCertification] ||
    NODE_RANK[b.nodeCertification] - NODE_RANK[a.nodeCertification] ||
    b.id - a.id
  );
}

const defaultPolicy = (ctx: HookContext): FarmingPolicyInfo =>
  allFarmingPolicies(ctx).filter((p) => p.default).sort(byPreference)[0] ?? fail('FarmingPolicyNotExists');

/**
 * The farming policy a node gets: the farm's attached policy while its limits
 * allow (consuming them), else the best policy its certifications qualify for.
 */
export function selectFarmingPolicy(ctx: HookContext, node: NodeInfo): FarmingPolicyInfo {
  const farm = getFarm(ctx, node.farmId) ?? fail('FarmNotExists');
  const limits = farm.farmingPolicyLimits;
  if (limits) {
    const attached = getFarmingPolicy(ctx, limits.farmingPolicyId) ?? fail('FarmingPolicyNotExists');
    if (limits.end !== null && ctx.nowSeconds > limits.end) return defaultPolicy(ctx);
    const next = { ...limits };
    if (limits.cu !== null) {
      const cu = computeUnits(node.resources);
      if (cu > limits.cu) return defaultPolicy(ctx);
      next.cu = limits.cu - cu;
    }
    if (limits.su !== null) {
      const su = storageUnits(node.resources);
      if (su > limits.su) return defaultPolicy(ctx);
      next.su = limits.su - su;
    }
    if (limits.nodeCount !== null) {
      if (limits.nodeCount === 0) return defaultPolicy(ctx);
      next.nodeCount = limits.nodeCount - 1;
    }
    const updated = { ...farm, farmingPolicyLimits: next };
    putFarm(ctx, updated);
    ctx.deposit(TFGRID, 'FarmUpdated', farmToInput(updated));
    return attached;
  }
  return (
    allFarmingPolicies(ctx)
      .filter((p) => NODE_RANK[p.nodeCertification] <= NODE_RANK[node.certification])
      .filter((p) => FARM_RANK[p.farmCertification] <= FARM_RANK[farm.certification])
      .sort(byPreference)[0] ?? fail('FarmingPolicyNotExists')
  );
}

// ---- calls ----

const policyArg = (name: string): FieldSpec => [name, Policy, 'types::Policy'];
const policyOf = (c: any): PolicyInfo => ({ value: c.value.toNumber(), unit: variant<UnitName>(c.unit) });
const accountArg = (name: string): FieldSpec => [name, AccountId32, 'T::AccountId'];
const pricingArgs: FieldSpec[] = [
  vecArg('name'), policyArg('su'), policyArg('cu'), policyArg('nu'), policyArg('ipu'), policyArg('unique_name'), policyArg('domain_name'),
  accountArg('foundation_account'), accountArg('certified_sales_account'), ['discount_for_dedication_nodes', u8, 'u8'],
];

function pricingFields(a: CallArgs): Omit<PricingPolicyInfo, 'version' | 'id'> {
  return {
    name: text(a.name!), su: policyOf(a.su), cu: policyOf(a.cu), nu: policyOf(a.nu), ipu: policyOf(a.ipu),
    uniqueName: policyOf(a.unique_name), domainName: policyOf(a.domain_name),
    foundationAccount: a.foundation_account!.toHex() as Hex, certifiedSalesAccount: a.certified_sales_account!.toHex() as Hex,
    discountForDedicationNodes: num(a.discount_for_dedication_nodes!),
  };
}

function storePricingPolicy(ctx: CallContext, policy: PricingPolicyInfo): void {
  const s = ctx.store(TFGRID);
  s.put('PricingPolicies', [policy.id], pricingPolicyToInput(policy));
  s.put('PricingPolicyIdByName', [bytesOf(policy.name)], policy.id);
  s.put('PricingPolicyID', [], policy.id);
  ctx.deposit(TFGRID, 'PricingPolicyStored', pricingPolicyToInput(policy));
}

function createPricingPolicy(ctx: CallContext, args: CallArgs): void {
  const fields = pricingFields(args);
  const s = ctx.store(TFGRID);
  ensure(!s.has('PricingPolicyIdByName', bytesOf(fields.name)), 'PricingPolicyExists');
  storePricingPolicy(ctx, { version: POLICY_VERSION, id: (s.json<number>('PricingPolicyID') ?? 0) + 1, ...fields });
}

function updatePricingPolicy(ctx: CallContext, args: CallArgs): void {
  const id = num(args.pricing_policy_id!);
  const current = getPricingPolicy(ctx, id) ?? fail('PricingPolicyNotExists');
  const fields = pricingFields(args);
  const s = ctx.store(TFGRID);
  const key = bytesOf(fields.name);
  ensure(!s.has('PricingPolicyIdByName', key) || s.json<number>('PricingPolicyIdByName', key) === id, 'PricingPolicyWithDifferentIdExists');
  if (fields.name !== current.name) s.remove('PricingPolicyIdByName', bytesOf(current.name));
  storePricingPolicy(ctx, { ...current, ...fields });
}

const farmingArgs = (immutable: boolean): FieldSpec[] => [
  vecArg('name'), u32Arg('su'), u32Arg('cu'), u32Arg('nu'), u32Arg('ipv4'), ['minimal_uptime', u16, 'u16'],
  ['policy_end', u32, 'BlockNumberFor<T>'], ...(immutable ? [['immutable', bool, 'bool'] as FieldSpec] : []),
  ['default', bool, 'bool'], ['node_certification', NodeCertification, 'NodeCertification'],
  ['farm_certification', FarmCertification, 'FarmCertification'],
];

function farmingFields(a: CallArgs) {
  return {
    name: text(a.name!), su: num(a.su!), cu: num(a.cu!), nu: num(a.nu!), ipv4: num(a.ipv4!), minimalUptime: num(a.minimal_uptime!),
    policyEnd: num(a.policy_end!), default: flag(a.default!),
    nodeCertification: variant<NodeCertificationName>(a.node_certification!),
    farmCertification: variant<FarmCertificationName>(a.farm_certification!),
  };
}

function createFarmingPolicy(ctx: CallContext, args: CallArgs): void {
  const s = ctx.store(TFGRID);
  const id = (s.json<number>('FarmingPolicyID') ?? 0) + 1;
  const policy: FarmingPolicyInfo = {
    version: POLICY_VERSION, id, ...farmingFields(args), policyCreated: ctx.blockNumber, immutable: flag(args.immutable!),
  };
  s.put('FarmingPoliciesMap', [id], farmingPolicyToInput(policy));
  s.put('FarmingPolicyID', [], id);
  ctx.deposit(TFGRID, 'FarmingPolicyStored', farmingPolicyToInput(policy));
}

function updateFarmingPolicy(ctx: CallContext, args: CallArgs): void {
  const id = num(args.farming_policy_id!);
  const current = getFarmingPolicy(ctx, id) ?? fail('FarmingPolicyNotExists');
  const policy = { ...current, ...farmingFields(args) };
  ctx.store(TFGRID).put('FarmingPoliciesMap', [id], farmingPolicyToInput(policy));
  ctx.deposit(TFGRID, 'FarmingPolicyUpdated', farmingPolicyToInput(policy));
}

function setConnectionPrice(ctx: CallContext, args: CallArgs): void {
  const price = num(args.price!);
  ctx.store(TFGRID).put('ConnectionPrice', [], price);
  ctx.deposit(TFGRID, 'ConnectionPriceSet', price);
}

function setZosVersion(ctx: CallContext, args: CallArgs): void {
  const version = (args.zos_version as any).toHex() as Hex;
  const s = ctx.store(TFGRID);
  ensure(s.get('ZosVersion')!.toHex() !== version, 'InvalidZosVersion');
  s.put('ZosVersion', [], version);
  ctx.deposit(TFGRID, 'ZosVersionUpdated', version);
}

export const policyCalls: CallDecl[] = [
  {
    name: 'set_storage_version', index: 0, root: true, args: [['version', StorageVersion, 'types::StorageVersion']],
    run: (ctx, a) => ctx.store(TFGRID).put('PalletVersion', [], a.version),
  },
  { name: 'create_pricing_policy', index: 22, root: true, args: pricingArgs, run: createPricingPolicy },
  { name: 'update_pricing_policy', index: 23, root: true, args: [u32Arg('pricing_policy_id'), ...pricingArgs], run: updatePricingPolicy },
  { name: 'create_farming_policy', index: 24, root: true, args: farmingArgs(true), run: createFarmingPolicy },
  { name: 'set_connection_price', index: 29, root: true, args: [u32Arg('price')], run: setConnectionPrice },
  {
    name: 'update_farming_policy', index: 32, root: true, args: [u32Arg('farming_policy_id'), ...farmingArgs(false)],
    run: updateFarmingPolicy,
  },
  { name: 'set_zos_version', index: 34, root: true, args: [vecArg('zos_version')], run: setZosVersion },
];
