import { test } from 'node:test';
import assert from 'node:assert/strict';
import { account as balanceOf } from '../../chain/devnet/pallets/balances.ts';
import { computeUnits, discountFor, resourcesCost, storageUnits, usdToTft } from '../../chain/devnet/pallets/smart-contract/cost.ts';
import { pricingPolicy } from '../../chain/devnet/pallets/smart-contract/tfgrid.ts';
import { DEV_FOUNDATION_ACCOUNT } from '../../chain/devnet/pallets/tfgrid/genesis.ts';
import type { Runtime } from '../../chain/devnet/runtime/runtime.ts';
import {
  advance, advanceToBill, contract, dave, dev, eventNames, HASH_A, HASH_B, makeGridRuntime, nodeContract, ok, run, sc, setupGrid, storage, tx,
} from './smart-contract-fixtures.ts';

const GB = 1024n ** 3n;
const P = 1_000_000_000n;
const NOW_S = 1_700_000_000;

const setBalance = (rt: Runtime, who: string, free: bigint) => ok(run(rt, { kind: 'root' }, tx(rt, 'Balances', 'force_set_balance', who, free)));
const balances = (rt: Runtime, who: string) => balanceOf(rt.hooks(), who).data;
const named = (evs: Array<[string, unknown]>, name: string) => evs.filter((e) => e[0] === `smartContractModule.${name}`).map((e) => e[1]);

test('cost: compute and storage units follow the tfchain formulas', async (t) => {
  const cases = [
    { name: '2 cores, 4 GB memory -> 1 CU', r: { cru: 2n, mru: 4n * GB }, cu: P },
    { name: '8 cores, 16 GB memory -> 4 CU', r: { cru: 8n, mru: 16n * GB }, cu: 4n * P },
    { name: '1 core, 64 GB memory -> 8 CU (memory bound)', r: { cru: 1n, mru: 64n * GB }, cu: 8n * P },
    { name: '16 cores, 2 GB memory -> 4 CU (cpu bound)', r: { cru: 16n, mru: 2n * GB }, cu: 4n * P },
  ];
  for (const tc of cases) {
    await t.test(tc.name, () => assert.equal(computeUnits({ hru: 0n, sru: 0n, ...tc.r }, GB), tc.cu));
  }
  assert.equal(storageUnits({ hru: 1200n * GB, sru: 100n * GB, cru: 0n, mru: 0n }, GB), P + P / 2n);
});

test('cost: an hour of 1 CU + 0.5 SU costs 125000 USD units, 2.5 TFT at 0.05 USD', () => {
  const rt = makeGridRuntime();
  const policy = pricingPolicy(rt.hooks(), 1)!;
  const usd = resourcesCost({ hru: 0n, sru: 100n * GB, cru: 2n, mru: 4n * GB }, policy, 3600n);
  assert.equal(usd, 125_000n);
  assert.equal(usdToTft(usd, 50), 2_500_000n);
});

test('cost: the discount level grows with the months of cost the balance covers', async (t) => {
  const month = 30n * 24n * 3600n;
  const cases: Array<[bigint, string]> = [[1n, 'None'], [15n, 'Default'], [60n, 'Bronze'], [120n, 'Silver'], [360n, 'Gold']];
  for (const [tenths, level] of cases) {
    await t.test(`${tenths} tenths of a month -> ${level}`, () => {
      // amount 1000 per month; balance covers tenths/10 months.
      assert.equal(discountFor(tenths * 100n, 1000n, month).level, level);
    });
  }
});

test('billing: bills a node contract at its slot of the loop, with the balance discount, into the reserve', () => {
  const rt = makeGridRuntime();
  const { nodeId } = setupGrid(rt);
  ok(nodeContract(rt, dev.charlie, nodeId, HASH_A, 1));
  ok(sc(rt, dev.bob, 'report_contract_resources', [{ contractId: 1, used: { hru: 0, sru: 100 * 1024 ** 3, cru: 2, mru: 4 * 1024 ** 3 } }]));
  assert.deepEqual(named(advance(rt, 9), 'ContractBilled'), [], 'nothing billed before block 11');
  const evs = advance(rt, 1);
  // 60 s: resources 2083 + one IP 666 USD units = 2749 -> 54980 TFT units, Gold discount (60%) -> 21992.
  assert.deepEqual(named(evs, 'ContractBilled'), [[{ contractId: 1, timestamp: NOW_S + 60, discountLevel: 'Gold', amountBilled: 21992 }]]);
  assert.equal(balances(rt, dev.charlie).reserved, 21992n);
  const ps = storage(rt, 'ContractPaymentState', 1);
  assert.equal(BigInt(ps.standardReserve), 21992n);
  assert.equal(ps.lastUpdatedSeconds, NOW_S + 60);
  assert.equal(ps.cycles, 1);
});

test('billing: reported NRU is charged once at the next bill', () => {
  const rt = makeGridRuntime();
  const { nodeId } = setupGrid(rt);
  ok(nodeContract(rt, dev.charlie, nodeId, HASH_A));
  ok(sc(rt, dev.bob, 'add_nru_reports', [{ contractId: 1, timestamp: NOW_S, window: 60, nru: 2 * 1024 ** 3 }]));
  // 30000 USD units -> 600000 TFT units, Gold -> 240000.
  assert.deepEqual(named(advanceToBill(rt, 1), 'ContractBilled').map((e: any) => e[0].amountBilled), [240000]);
  assert.equal(storage(rt, 'ContractBillingInformationByID', 1).amountUnbilled, 0);
  assert.deepEqual(named(advanceToBill(rt, 1), 'ContractBilled'), []);
});

test('billing: the reserve is paid out every distribution round: 50% farmer, 50% foundation (incl. staking)', () => {
  const rt = makeGridRuntime({ distributionCycles: 2 });
  const { nodeId } = setupGrid(rt);
  ok(nodeContract(rt, dev.charlie, nodeId, HASH_A, 1));
  const farmerBefore = balances(rt, dev.alice).free;
  advanceToBill(rt, 1);
  const evs = advanceToBill(rt, 1);
  const total = 2n * 5328n; // one IP for 60 s: 666 USD units -> 13320 TFT units, Gold -> 5328
  assert.deepEqual(named(evs, 'RewardDistributed'), [[1, Number(total), 0]]);
  assert.equal(balances(rt, dev.charlie).reserved, 0n);
  assert.equal(balances(rt, dev.alice).free - farmerBefore, total / 2n);
  assert.equal(balances(rt, DEV_FOUNDATION_ACCOUNT).free, total / 2n);
  assert.equal(BigInt(storage(rt, 'ContractPaymentState', 1).standardReserve), 0n);
});

test('billing: grace period starts when funds run out, ends when they return, and deletes the contract when it elapses', () => {
  const rt = makeGridRuntime({ gracePeriodBlocks: 25 });
  const { nodeId, farmId } = setupGrid(rt);
  ok(nodeContract(rt, dave, nodeId, HASH_A, 1));
  setBalance(rt, dave, 1500n);

  // Block 11: 13320 due (no discount), 1000 spendable above the existential deposit.
  let evs = advanceToBill(rt, 1);
  assert.equal(rt.blockNumber(), 11);
  assert.deepEqual(named(evs, 'ContractPaymentOverdrawn'), [[1, NOW_S + 60, 1000, 12320]]);
  assert.deepEqual(named(evs, 'ContractGracePeriodStarted'), [[1, nodeId, 4, 11]]);
  assert.deepEqual(contract(rt, 1)!.state, { kind: 'GracePeriod', block: 11 });
  assert.equal(sc(rt, dave, 'update_node_contract', 1, HASH_B, 'x'), 'SmartContractModule.CannotUpdateContractInGraceState');

  // Funds return: the overdraft is paid and the contract is Created again.
  setBalance(rt, dave, 10n ** 15n);
  evs = advanceToBill(rt, 1);
  assert.deepEqual(named(evs, 'ContractGracePeriodEnded'), [[1, nodeId, 4]]);
  assert.deepEqual(contract(rt, 1)!.state, { kind: 'Created' });
  assert.equal(BigInt(storage(rt, 'ContractPaymentState', 1).standardOverdraft), 0n);

  // Run dry again: a new grace period from block 31, elapsed at 31 + 25 -> deleted at the bill of block 61.
  setBalance(rt, dave, 500n);
  evs = advanceToBill(rt, 1);
  assert.deepEqual(named(evs, 'ContractGracePeriodStarted'), [[1, nodeId, 4, 31]]);
  evs = [...advanceToBill(rt, 1), ...advanceToBill(rt, 1)];
  assert.deepEqual(named(evs, 'ContractGracePeriodElapsed'), []);
  assert.equal(contract(rt, 1)!.state.kind, 'GracePeriod');
  evs = advanceToBill(rt, 1);
  assert.equal(rt.blockNumber(), 61);
  assert.deepEqual(named(evs, 'ContractGracePeriodElapsed'), [[1, 25]]);
  assert.deepEqual(named(evs, 'NodeContractCanceled'), [[1, nodeId, 4]]);
  assert.equal(named(evs, 'IPsFreed').length, 1);
  assert.equal(contract(rt, 1), null);
  assert.deepEqual(storage(rt, 'ActiveNodeContracts', nodeId), []);
  const ips = (rt.readStorage('TfgridModule', 'Farms', [farmId]) as any).publicIps.map((ip: any) => ip.contractId.toNumber());
  assert.deepEqual(ips, [0, 0]);
  assert.equal(balances(rt, dave).reserved, 0n, 'the reserve was paid out on deletion');
  assert.deepEqual(named(advanceToBill(rt, 1), 'ContractBilled'), []);
});

test('billing: a rent contract pays the whole node at the dedication discount; its node contracts pay no capacity', () => {
  const rt = makeGridRuntime();
  const { nodeId } = setupGrid(rt);
  ok(sc(rt, dave, 'create_rent_contract', nodeId, null));
  ok(nodeContract(rt, dave, nodeId, HASH_A));
  ok(sc(rt, dev.bob, 'report_contract_resources', [{ contractId: 2, used: { hru: 0, sru: 100 * 1024 ** 3, cru: 2, mru: 4 * 1024 ** 3 } }]));
  const evs = advance(rt, 11);
  // Node of 1024 GB HDD, 512 GB SSD, 8 cores, 16 GB: 60 s cost 9511 USD units, 50% off -> 4755 -> 95100 TFT units.
  assert.deepEqual(named(evs, 'ContractBilled').map((e: any) => [e[0].contractId, e[0].amountBilled]), [[1, 95100]]);
});

test('billing: a name contract pays the unique-name price', () => {
  const rt = makeGridRuntime();
  setupGrid(rt);
  ok(sc(rt, dev.charlie, 'create_name_contract', 'gw1'));
  // 2500 USD units per hour -> 41 per minute -> 820 TFT units, Gold -> 328.
  assert.deepEqual(named(advanceToBill(rt, 1), 'ContractBilled').map((e: any) => e[0].amountBilled), [328]);
});

test('bill_contract_for_block: bills a contract on demand; unknown ids are ContractNotExists', () => {
  const rt = makeGridRuntime();
  const { nodeId } = setupGrid(rt);
  ok(nodeContract(rt, dev.charlie, nodeId, HASH_A, 1));
  advance(rt, 5);
  rt.resetEvents();
  ok(sc(rt, dev.alice, 'bill_contract_for_block', 1));
  assert.equal(storage(rt, 'ContractPaymentState', 1).lastUpdatedSeconds, NOW_S + 30);
  assert.equal(sc(rt, dev.alice, 'bill_contract_for_block', 9), 'SmartContractModule.ContractNotExists');
});

test('cancel_contract: the final bill charges the time since the last bill and pays the reserve out', () => {
  const rt = makeGridRuntime();
  const { nodeId } = setupGrid(rt);
  ok(nodeContract(rt, dev.charlie, nodeId, HASH_A, 1));
  advance(rt, 15);
  const farmerBefore = balances(rt, dev.alice).free;
  ok(sc(rt, dev.charlie, 'cancel_contract', 1));
  const names = eventNames(rt).filter((n) => n.startsWith('smartContractModule.') || n === 'balances.Reserved');
  assert.deepEqual(names, [
    'balances.Reserved', 'smartContractModule.ContractBilled', 'smartContractModule.RewardDistributed',
    'smartContractModule.IPsFreed', 'smartContractModule.NodeContractCanceled',
  ]);
  assert.ok(balances(rt, dev.alice).free > farmerBefore);
  assert.equal(balances(rt, dev.charlie).reserved, 0n);
});

test('TFTPriceModule: genesis prices, set_prices averages, and billing converts with the average', () => {
  const rt = makeGridRuntime();
  const price = (item: string) => (rt.readStorage('TFTPriceModule', item, []) as any).toJSON();
  assert.deepEqual([price('TftPrice'), price('AverageTftPrice'), price('MinTftPrice'), price('MaxTftPrice')], [50, 50, 10, 1000]);
  const root = { kind: 'root' } as const;
  assert.equal(run(rt, { kind: 'signed', account: dev.alice }, tx(rt, 'TFTPriceModule', 'set_prices', 150, 1)), 'BadOrigin');
  ok(run(rt, root, tx(rt, 'TFTPriceModule', 'set_prices', 150, 1)));
  assert.equal(price('TftPrice'), 150);
  assert.equal(price('AverageTftPrice'), 100);
  assert.equal(run(rt, root, tx(rt, 'TFTPriceModule', 'set_min_tft_price', 1000)), 'TFTPriceModule.MinPriceAboveMaxPriceError');
  assert.equal(run(rt, root, tx(rt, 'TFTPriceModule', 'set_max_tft_price', 5)), 'TFTPriceModule.MaxPriceBelowMinPriceError');

  const { nodeId } = setupGrid(rt);
  ok(nodeContract(rt, dev.charlie, nodeId, HASH_A, 1));
  // One IP for 60 s = 666 USD units: 6660 TFT units at 0.1 USD, Gold -> 2664 (half of the 0.05 USD bill).
  assert.deepEqual(named(advanceToBill(rt, 1), 'ContractBilled').map((e: any) => e[0].amountBilled), [2664]);
});

test('billing: node contracts on a rented node share the rent contract\'s grace period and are deleted with it', () => {
  const rt = makeGridRuntime({ gracePeriodBlocks: 25 });
  const { nodeId } = setupGrid(rt);
  ok(sc(rt, dave, 'create_rent_contract', nodeId, null));
  ok(nodeContract(rt, dave, nodeId, HASH_A));
  setBalance(rt, dave, 1500n);

  let evs = advanceToBill(rt, 1);
  assert.deepEqual(named(evs, 'ContractGracePeriodStarted'), [[1, nodeId, 4, 11], [2, nodeId, 4, 11]]);
  evs = advance(rt, 1);
  assert.deepEqual(named(evs, 'ContractGracePeriodEnded'), [], 'the node contract stays in grace while its rent does');
  assert.equal(contract(rt, 2)!.state.kind, 'GracePeriod');

  setBalance(rt, dave, 10n ** 15n);
  evs = advanceToBill(rt, 1);
  assert.deepEqual(named(evs, 'ContractGracePeriodEnded'), [[1, nodeId, 4], [2, nodeId, 4]]);

  setBalance(rt, dave, 500n);
  evs = [...advanceToBill(rt, 1), ...advanceToBill(rt, 1), ...advanceToBill(rt, 1), ...advanceToBill(rt, 1)];
  assert.equal(rt.blockNumber(), 61);
  assert.deepEqual(named(evs, 'ContractGracePeriodElapsed'), [[1, 25]]);
  assert.deepEqual(named(evs, 'NodeContractCanceled'), [[2, nodeId, 4]]);
  assert.deepEqual(named(evs, 'RentContractCanceled'), [[1]]);
  assert.equal(storage(rt, 'ActiveRentContractForNode', nodeId), null);
  assert.deepEqual(storage(rt, 'ActiveNodeContracts', nodeId), []);
});
