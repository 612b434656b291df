import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Farm, Node, PricingPolicy } from '../../chain/client/types.ts';
import { decodeIndexerEvent, type IndexerEvent } from '../../indexer/events.ts';
import { openStore } from '../../indexer/indexer.ts';
import { computeUnits, discountedPriceSql, nodePriceUsd, priceUsdAnswer, storageUnits } from '../../indexer/price.ts';
import { HttpError } from '../../indexer/rest/params.ts';
import { getNode, nodeJson, type NodeRow } from '../../indexer/rest/nodes.ts';
import { applyEvent } from '../../indexer/store/apply.ts';

/**
 * gridproxy's node price (setup.sql calc_price, calc_discount; Go rounds to 3 decimals), with
 * vectors worked out by hand from its formula: CU = min(max(M/4, C/2), max(M/8, C), max(M/2, C/4)),
 * SU = H/1200 + S/200 (GiB), price = (CU·cu + SU·su + extra fee) · (1.25 if certified) · 720 / 1e7.
 * The devnet's policy 1 has cu 100 000 and su 50 000.
 */
const GIB = 1024 ** 3;
const POLICY = { cu: 100_000, su: 50_000 };
const node = (o: Partial<Parameters<typeof nodePriceUsd>[0]> = {}) =>
  nodePriceUsd({ cru: 4, mru: 16 * GIB, sru: 512 * GIB, hru: 0, certified: false, extraFee: 0, ...POLICY, ...o });

test('compute and storage units: the binding CPU/memory mix, HDD and SSD shares', () => {
  assert.equal(computeUnits(4, 16), 4); // max(4, 2), max(2, 4), max(8, 1)
  assert.equal(computeUnits(4, 8), 2); // max(2, 2) is the least
  assert.equal(computeUnits(1, 64), 8); // memory-heavy: max(16, .5), max(8, 1), max(32, .25)
  assert.equal(computeUnits(32, 2), 8); // CPU-heavy: max(.5, 16), max(.25, 32), max(1, 8)
  assert.equal(storageUnits(1200, 0), 1);
  assert.equal(storageUnits(0, 512), 2.56);
});

test('monthly price in USD: units at the policy prices, certified x1.25, extra fee added hourly', () => {
  // (4·100000 + 2.56·50000) · 720 / 1e7 = 528000 · 720 / 1e7
  assert.equal(priceUsdAnswer(node(), 0), 38.016);
  assert.equal(priceUsdAnswer(node({ mru: 8 * GIB }), 0), 23.616); // (200000 + 128000) · 720 / 1e7
  assert.equal(priceUsdAnswer(node({ certified: true }), 0), 47.52);
  assert.equal(priceUsdAnswer(node({ extraFee: 10_000 }), 0), 38.736); // (528000 + 10000) · 720 / 1e7
  assert.equal(priceUsdAnswer(node({ cru: 0, mru: 0, sru: 0, hru: 1200 * GIB }), 0), 3.6);
  assert.equal(node({ cru: 0, mru: 0, sru: 0 }), 0);
});

test('staking discount for a balance: 20/30/40/60 % at 1.5/3/6/18 times the price, then 3 decimals', () => {
  const p = node(); // 38.016
  assert.equal(priceUsdAnswer(p, 57.023), 38.016, 'just under 1.5x: no discount');
  assert.equal(priceUsdAnswer(p, 57.024), 30.413); // 38.016 · 0.8 = 30.4128
  assert.equal(priceUsdAnswer(p, 114.048), 26.611); // · 0.7
  assert.equal(priceUsdAnswer(p, 228.096), 22.81); // · 0.6
  assert.equal(priceUsdAnswer(p, 684.288), 15.206); // · 0.4
  assert.equal(priceUsdAnswer(p, 1e9), 15.206, 'never more than 60 %');
  assert.match(discountedPriceSql('n.price_usd', 57.024), /WHEN 57\.024 >= n\.price_usd \* 1\.5 THEN 0\.2/);
  assert.throws(() => discountedPriceSql('n.price_usd', Number.NaN));
});

test('a node whose pricing policy is not on chain: gridproxy calc_price error text, not a made-up price', () => {
  const row = { price_usd: null, policy_id: 7, features: '[]' } as unknown as NodeRow;
  assert.throws(() => nodeJson(row, 0, false), (e: unknown) => e instanceof HttpError && e.status === 500 && e.message === 'pricing values not found for policy_id: 7');
});

const policy = (id: number, cu: number, su: number): PricingPolicy => {
  const unit = (value: number) => ({ value, unit: 'Gigabytes' as const });
  return { version: 1, id, name: `policy${id}`, su: unit(su), cu: unit(cu), nu: unit(15_000), ipu: unit(40_000), uniqueName: unit(2500),
    domainName: unit(5000), foundationAccount: new Uint8Array(32), certifiedSalesAccount: new Uint8Array(32), discountForDedicationNodes: 50 };
};
const farm = (id: number, pricingPolicyId: number): Farm => ({
  version: 4, id, name: `farm${id}`, twinId: id, pricingPolicyId, certification: 'NotCertified', dedicatedFarm: false, farmingPolicyLimits: null, publicIps: [],
});
const chainNode = (id: number, farmId: number): Node => ({
  version: 5, id, farmId, twinId: 100 + id, created: 1, farmingPolicyId: 1, interfaces: [], certification: 'Diy', secureBoot: false, virtualized: false,
  serialNumber: null, connectionPrice: 80, resources: { hru: 0, sru: 512 * GIB, cru: 4, mru: 16 * GIB },
  location: { city: 'Ghent', country: 'Belgium', latitude: '51.05', longitude: '3.72' }, publicConfig: null,
});

test('event mapping: a node is priced with its farm policy (0 means 1) and re-priced by policy, farm, certification events', async () => {
  const sql = await openStore({ dataDir: null });
  try {
    let index = 0;
    const apply = (...events: IndexerEvent[]) => sql.transaction(async (tx) => {
      for (const e of events) await applyEvent(tx, e, { block: 1, blockHash: '0x1234567890', index: index++, at: 1 });
    });
    const prices = async () => Promise.all([1, 2, 3].map(async (id) => (await getNode(sql, id, 1).catch((e: Error) => ({ price_usd: e.message })))!.price_usd));
    await apply(
      { kind: 'PricingPolicyStored', policy: policy(1, 100_000, 50_000) },
      { kind: 'FarmStored', farm: farm(1, 1) }, { kind: 'FarmStored', farm: farm(2, 0) }, { kind: 'FarmStored', farm: farm(3, 2) },
      { kind: 'NodeStored', node: chainNode(1, 1) }, { kind: 'NodeStored', node: chainNode(2, 2) }, { kind: 'NodeStored', node: chainNode(3, 3) },
    );
    assert.deepEqual(await prices(), [38.016, 38.016, 'pricing values not found for policy_id: 2']);
    await apply({ kind: 'PricingPolicyStored', policy: policy(2, 200_000, 25_000) });
    assert.deepEqual(await prices(), [38.016, 38.016, 62.208], '(4·200000 + 2.56·25000)·720/1e7');
    await apply({ kind: 'PricingPolicyStored', policy: policy(1, 50_000, 50_000) });
    assert.deepEqual(await prices(), [23.616, 23.616, 62.208], 'both farms on policy 1 follow its update');
    await apply({ kind: 'NodeCertificationSet', nodeId: 1, certification: 'Certified' }, { kind: 'FarmUpdated', farm: farm(2, 2) });
    assert.deepEqual(await prices(), [29.52, 62.208, 62.208]);
    await apply({ kind: 'NodeExtraFeeSet', nodeId: 3, extraFee: 10_000 });
    assert.deepEqual(await prices(), [29.52, 62.208, 62.928]);
  } finally {
    await sql.close();
  }
});

test('PricingPolicyStored decodes from the chain JSON (polkadot-js, as the devnet emits it)', () => {
  const unit = (value: number) => ({ value, unit: 'Gigabytes' });
  const e = decodeIndexerEvent({
    section: 'tfgridModule', method: 'PricingPolicyStored',
    data: [{ version: 1, id: 1, name: '0x74667f', su: unit(50_000), cu: unit(100_000), nu: unit(15_000), ipu: unit(40_000), uniqueName: unit(2500),
      domainName: unit(5000), foundationAccount: '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY',
      certifiedSalesAccount: '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY', discountForDedicationNodes: 50 }],
  });
  assert.equal(e?.kind, 'PricingPolicyStored');
  assert.deepEqual(e.kind === 'PricingPolicyStored' && [e.policy.id, e.policy.cu.value, e.policy.su.value], [1, 100_000, 50_000]);
});
