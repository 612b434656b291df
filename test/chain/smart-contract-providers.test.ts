import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freeBalance } from '../../chain/devnet/pallets/balances.ts';
import {
  account, advanceToBill, contract, dev, events, ferdie, HASH_A, HASH_B, makeGridRuntime, nodeContract, ok, rootSc, sc, setupGrid, storage,
} from './smart-contract-fixtures.ts';

const provider = account('//Provider');

test('solution providers: created unapproved, approved by root, then attachable to contracts', () => {
  const rt = makeGridRuntime();
  const { nodeId } = setupGrid(rt);
  assert.equal(sc(rt, ferdie, 'create_solution_provider', 'too greedy', 'https://x', [{ who: provider, take: 51 }]), 'SmartContractModule.InvalidProviderConfiguration');
  assert.equal(sc(rt, ferdie, 'create_solution_provider', 'nobody', 'https://x', []), 'SmartContractModule.InvalidProviderConfiguration');
  ok(sc(rt, ferdie, 'create_solution_provider', 'a dapp', 'https://dapp.example', [{ who: provider, take: 20 }]));
  assert.equal(events(rt).at(-1)![0], 'smartContractModule.SolutionProviderCreated');
  assert.equal(storage(rt, 'SolutionProviders', 1).approved, false);

  ok(nodeContract(rt, dev.charlie, nodeId, HASH_A));
  assert.equal(sc(rt, dev.charlie, 'attach_solution_provider_id', 1, 1), 'SmartContractModule.SolutionProviderNotApproved');
  assert.equal(sc(rt, dev.charlie, 'create_node_contract', nodeId, HASH_B, 'x', 0, 1), 'SmartContractModule.SolutionProviderNotApproved');
  assert.equal(sc(rt, dev.alice, 'approve_solution_provider', 1, true), 'BadOrigin');
  assert.equal(rootSc(rt, 'approve_solution_provider', 7, true), 'SmartContractModule.NoSuchSolutionProvider');
  ok(rootSc(rt, 'approve_solution_provider', 1, true));
  assert.deepEqual(events(rt).at(-1), ['smartContractModule.SolutionProviderApproved', [1, true]]);

  assert.equal(sc(rt, dev.bob, 'attach_solution_provider_id', 1, 1), 'SmartContractModule.UnauthorizedToChangeSolutionProviderId');
  ok(sc(rt, dev.charlie, 'attach_solution_provider_id', 1, 1));
  assert.equal(contract(rt, 1)!.solutionProviderId, 1);
  assert.equal(sc(rt, dev.charlie, 'attach_solution_provider_id', 1, 1), 'SmartContractModule.UnauthorizedToChangeSolutionProviderId');
  ok(sc(rt, dev.charlie, 'create_node_contract', nodeId, HASH_B, 'x', 0, 1));
  assert.equal(contract(rt, 2)!.solutionProviderId, 1);
});

test('solution providers: take their share of the rewards before farmer and foundation', () => {
  const rt = makeGridRuntime({ distributionCycles: 1 });
  const { nodeId } = setupGrid(rt);
  ok(sc(rt, ferdie, 'create_solution_provider', 'a dapp', 'https://dapp.example', [{ who: ferdie, take: 20 }]));
  ok(rootSc(rt, 'approve_solution_provider', 1, true));
  ok(sc(rt, dev.charlie, 'create_node_contract', nodeId, HASH_A, 'x', 1, 1));
  const before = freeBalance(rt.hooks(), ferdie);
  const farmerBefore = freeBalance(rt.hooks(), dev.alice);
  advanceToBill(rt, 1);
  // 5328 billed (one IP, 60 s, Gold): provider 20% = 1065, farmer 50% of the remaining 4263 = 2131.
  assert.equal(freeBalance(rt.hooks(), ferdie) - before, 1065n);
  assert.equal(freeBalance(rt.hooks(), dev.alice) - farmerBefore, 2131n);
});

test('change_billing_frequency: root raises it and every contract moves to its new slot', () => {
  const rt = makeGridRuntime();
  setupGrid(rt);
  for (const name of ['gw-one', 'gw-two', 'gw-three']) ok(sc(rt, dev.charlie, 'create_name_contract', name));
  assert.equal(sc(rt, dev.charlie, 'change_billing_frequency', 20), 'BadOrigin');
  assert.equal(rootSc(rt, 'change_billing_frequency', 10), 'SmartContractModule.CanOnlyIncreaseFrequency');
  ok(rootSc(rt, 'change_billing_frequency', 20));
  assert.equal(rootSc(rt, 'change_billing_frequency', 20), 'SmartContractModule.CanOnlyIncreaseFrequency');
  const rt2 = makeGridRuntime({ billingFrequency: 2 });
  setupGrid(rt2);
  for (const name of ['gw-one', 'gw-two', 'gw-three']) ok(sc(rt2, dev.charlie, 'create_name_contract', name));
  assert.deepEqual([storage(rt2, 'ContractsToBillAt', 0), storage(rt2, 'ContractsToBillAt', 1)], [[2], [1, 3]]);
  ok(rootSc(rt2, 'change_billing_frequency', 3));
  assert.deepEqual(events(rt2).at(-1), ['smartContractModule.BillingFrequencyChanged', [3]]);
  assert.deepEqual([0, 1, 2].map((i) => storage(rt2, 'ContractsToBillAt', i)), [[3], [1], [2]]);
  assert.equal(storage(rt2, 'BillingFrequency'), 3);
});
