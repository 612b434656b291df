/** TfgridModule genesis: tfchain `--dev` values (chain_spec.rs) unless overridden. */
import type { HookContext } from '../../runtime/context.ts';
import { bytesOf, farmingPolicyToInput, pricingPolicyToInput, type FarmingPolicyInfo, type PricingPolicyInfo } from './model.ts';
import { TFGRID } from './queries.ts';

/** sr25519 public keys of the dev URIs //Eve (foundation) and //Ferdie (certified sales). */
export const DEV_FOUNDATION_ACCOUNT = '0xe659a7a1628cdd93febc04a4e0646ea20e9f5f0ce097d9a05290d4a9e054df4e';
export const DEV_SALES_ACCOUNT = '0x1cbd2d43530a44705ad088af313e18f80b53ef16b36177cd4b77b846f2a5f07c';

export interface TfgridGenesis {
  /** Stored as pricing policy 1 (billing reads it). */
  pricingPolicy?: PricingPolicyInfo;
  /** Stored by id; FarmingPolicyID becomes the highest id. */
  farmingPolicies?: FarmingPolicyInfo[];
  connectionPrice?: number;
}

const gb = (value: number) => ({ value, unit: 'Gigabytes' as const });

export const DEV_PRICING_POLICY: PricingPolicyInfo = {
  version: 1,
  id: 1,
  name: 'threefold_default_pricing_policy',
  su: gb(50000),
  cu: gb(100000),
  nu: gb(15000),
  ipu: gb(40000),
  uniqueName: gb(2500),
  domainName: gb(5000),
  foundationAccount: DEV_FOUNDATION_ACCOUNT,
  certifiedSalesAccount: DEV_SALES_ACCOUNT,
  discountForDedicationNodes: 50,
};

type Units = [cu: number, su: number, nu: number, ipv4: number];
const farmingPolicy = (id: number, name: string, certified: boolean, units: Units): FarmingPolicyInfo => ({
  version: 1, id, name, cu: units[0], su: units[1], nu: units[2], ipv4: units[3], minimalUptime: 95, policyCreated: 0, policyEnd: 0,
  immutable: false, default: true, nodeCertification: certified ? 'Certified' : 'Diy', farmCertification: 'NotCertified',
});

export const DEV_FARMING_POLICIES: FarmingPolicyInfo[] = [
  farmingPolicy(1, 'threefold_default_diy_farming_policy', false, [2400, 1000, 30, 5]),
  farmingPolicy(2, 'threefold_default_certified_farming_policy', true, [3000, 1250, 38, 6]),
];

export const DEV_CONNECTION_PRICE = 80;

export function writeGenesis(ctx: HookContext, config: TfgridGenesis): void {
  const s = ctx.store(TFGRID);
  const pricing = config.pricingPolicy ?? DEV_PRICING_POLICY;
  s.put('PricingPolicies', [pricing.id], pricingPolicyToInput(pricing));
  s.put('PricingPolicyIdByName', [bytesOf(pricing.name)], pricing.id);
  s.put('PricingPolicyID', [], pricing.id);
  const farming = config.farmingPolicies ?? DEV_FARMING_POLICIES;
  for (const p of farming) s.put('FarmingPoliciesMap', [p.id], farmingPolicyToInput(p));
  s.put('FarmingPolicyID', [], Math.max(0, ...farming.map((p) => p.id)));
  s.put('ConnectionPrice', [], config.connectionPrice ?? DEV_CONNECTION_PRICE);
}
