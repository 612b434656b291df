import { test } from 'node:test';
import assert from 'node:assert/strict';
import { u8aToHex } from '@polkadot/util';
import { DEV_FOUNDATION_ACCOUNT, DEV_SALES_ACCOUNT } from '../../chain/devnet/pallets/tfgrid/genesis.ts';
import { computeUnits, storageUnits } from '../../chain/devnet/pallets/tfgrid/policies.ts';
import { connectionPrice, getFarm, getFarmingPolicy, getNode, getPricingPolicy } from '../../chain/devnet/pallets/tfgrid/queries.ts';
import { call, dev, eventNames, events, farm, GIB, keyring, makeRuntime, node, ok, rootCall } from './tfgrid-fixtures.ts';

const num = (rt: ReturnType<typeof makeRuntime>, item: string) => (rt.readStorage('TfgridModule', item, []) as any).toNumber();

test('tfgrid genesis: --dev pricing policy 1 with //Eve as foundation and //Ferdie as certified sales', () => {
  assert.equal(DEV_FOUNDATION_ACCOUNT, u8aToHex(keyring.addFromUri('//Eve').publicKey));
  assert.equal(DEV_SALES_ACCOUNT, u8aToHex(keyring.addFromUri('//Ferdie').publicKey));
  const rt = makeRuntime();
  const gb = (value: number) => ({ value, unit: 'Gigabytes' });
  assert.deepEqual(getPricingPolicy(rt.hooks(), 1), {
    version: 1, id: 1, name: 'threefold_default_pricing_policy',
    su: gb(50000), cu: gb(100000), nu: gb(15000), ipu: gb(40000), uniqueName: gb(2500), domainName: gb(5000),
    foundationAccount: DEV_FOUNDATION_ACCOUNT, certifiedSalesAccount: DEV_SALES_ACCOUNT, discountForDedicationNodes: 50,
  });
  assert.equal(num(rt, 'PricingPolicyID'), 1);
});

test('tfgrid genesis: farming policies 1 (DIY) and 2 (certified), connection price 80, storage version 17', () => {
  const rt = makeRuntime();
  const ctx = rt.hooks();
  assert.deepEqual(getFarmingPolicy(ctx, 1), {
    version: 1, id: 1, name: 'threefold_default_diy_farming_policy', cu: 2400, su: 1000, nu: 30, ipv4: 5, minimalUptime: 95,
    policyCreated: 0, policyEnd: 0, immutable: false, default: true, nodeCertification: 'Diy', farmCertification: 'NotCertified',
  });
  const certified = getFarmingPolicy(ctx, 2)!;
  assert.deepEqual([certified.name, certified.cu, certified.su, certified.nu, certified.ipv4, certified.nodeCertification],
    ['threefold_default_certified_farming_policy', 3000, 1250, 38, 6, 'Certified']);
  assert.equal(num(rt, 'FarmingPolicyID'), 2);
  assert.equal(connectionPrice(ctx), 80);
  assert.equal(rt.readStorage('TfgridModule', 'PalletVersion', [])!.toString(), 'V17Struct');
});

test('tfgrid resource units: CU and SU follow tfchain integer arithmetic', () => {
  // tfchain reads mru as a count of GiB minus one: the smallest of cru*2, (mru-1)/4 and sru/50 wins, doubled.
  assert.equal(computeUnits({ hru: 0, sru: 1000 * GIB, cru: 1, mru: 13 }), 4);
  assert.equal(computeUnits({ hru: 0, sru: 1000 * GIB, cru: 1, mru: 9 }), 0, 'a tie between the two smallest gives 0');
  assert.equal(computeUnits({ hru: 0, sru: 0, cru: 0, mru: 0 }), 0);
  assert.equal(storageUnits({ hru: 1200 * GIB, sru: 250 * GIB, cru: 0, mru: 0 }), 2);
});

test('tfgrid policies: root creates and updates pricing and farming policies with their events', () => {
  const rt = makeRuntime();
  const policy = { value: 1, unit: 'Gigabytes' };
  const pricing = ['premium', policy, policy, policy, policy, policy, policy, dev.alice, dev.bob, 10];
  assert.equal(call(rt, dev.alice, 'create_pricing_policy', ...pricing), 'BadOrigin');
  rt.resetEvents();
  ok(rootCall(rt, 'create_pricing_policy', ...pricing));
  assert.equal(getPricingPolicy(rt.hooks(), 2)?.name, 'premium');
  assert.equal(rootCall(rt, 'create_pricing_policy', ...pricing), 'TfgridModule.PricingPolicyExists');
  assert.equal(rootCall(rt, 'update_pricing_policy', 9, ...pricing), 'TfgridModule.PricingPolicyNotExists');
  assert.equal(rootCall(rt, 'update_pricing_policy', 1, ...pricing), 'TfgridModule.PricingPolicyWithDifferentIdExists');
  ok(rootCall(rt, 'update_pricing_policy', 2, 'premium2', ...pricing.slice(1)));
  assert.equal(getPricingPolicy(rt.hooks(), 2)?.name, 'premium2');

  const farming = ['gold', 1, 2, 3, 4, 90, 0, true, false, 'Certified', 'Gold'];
  ok(rootCall(rt, 'create_farming_policy', ...farming));
  const created = getFarmingPolicy(rt.hooks(), 3)!;
  assert.deepEqual([created.name, created.immutable, created.policyCreated, created.farmCertification], ['gold', true, 1, 'Gold']);
  ok(rootCall(rt, 'update_farming_policy', 3, 'gold2', 1, 2, 3, 4, 90, 0, false, 'Certified', 'Gold'));
  assert.equal(getFarmingPolicy(rt.hooks(), 3)?.name, 'gold2');
  assert.equal(rootCall(rt, 'update_farming_policy', 9, 'x', 1, 2, 3, 4, 90, 0, false, 'Diy', 'NotCertified'), 'TfgridModule.FarmingPolicyNotExists');
  assert.deepEqual(eventNames(rt), [
    'tfgridModule.PricingPolicyStored', 'tfgridModule.PricingPolicyStored', 'tfgridModule.FarmingPolicyStored', 'tfgridModule.FarmingPolicyUpdated',
  ]);
});

test('tfgrid set_connection_price / set_zos_version: root only; the same ZOS version twice is InvalidZosVersion', () => {
  const rt = makeRuntime();
  assert.equal(call(rt, dev.alice, 'set_connection_price', 100), 'BadOrigin');
  rt.resetEvents();
  ok(rootCall(rt, 'set_connection_price', 100));
  ok(rootCall(rt, 'set_zos_version', 'v3.10.0'));
  assert.equal(rootCall(rt, 'set_zos_version', 'v3.10.0'), 'TfgridModule.InvalidZosVersion');
  assert.equal(connectionPrice(rt.hooks()), 100);
  assert.equal((rt.readStorage('TfgridModule', 'ZosVersion', []) as any).toUtf8(), 'v3.10.0');
  assert.deepEqual(events(rt).map((e) => e[0]), ['tfgridModule.ConnectionPriceSet', 'tfgridModule.ZosVersionUpdated']);
  const id = node(rt, dev.bob, farm(rt, dev.alice));
  assert.equal(getNode(rt.hooks(), id)?.connectionPrice, 100, 'new nodes take the current connection price');
});

test('tfgrid attach_policy_to_farm: new nodes take the attached policy while its node count lasts', () => {
  const rt = makeRuntime();
  const farmId = farm(rt, dev.alice);
  ok(rootCall(rt, 'create_farming_policy', 'special', 1, 2, 3, 4, 90, 0, false, false, 'Diy', 'Gold'));
  const limits = { farmingPolicyId: 3, cu: null, su: null, end: null, nodeCount: 1, nodeCertification: false };
  assert.equal(call(rt, dev.alice, 'attach_policy_to_farm', farmId, limits), 'BadOrigin');
  ok(rootCall(rt, 'attach_policy_to_farm', farmId, limits));
  assert.equal(getFarm(rt.hooks(), farmId)?.certification, 'Gold');
  const first = node(rt, dev.bob, farmId);
  assert.equal(getNode(rt.hooks(), first)?.farmingPolicyId, 3);
  assert.equal(getFarm(rt.hooks(), farmId)?.farmingPolicyLimits?.nodeCount, 0);
  const second = node(rt, dev.charlie, farmId);
  // tfchain's fallback takes the best-ranked default policy without a certification filter: the certified one.
  assert.equal(getNode(rt.hooks(), second)?.farmingPolicyId, 2, 'limits used up: back to the default policies');
});
