import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contract, dev, eventNames, HASH_A, HASH_B, makeGridRuntime, nodeContract, ok, run, setupGrid, signed, storage, tx } from './smart-contract-fixtures.ts';

test('delete_node: the node takes its node contracts with it (NodeContractCanceled, maps cleared)', () => {
  const rt = makeGridRuntime();
  const grid = setupGrid(rt);
  ok(nodeContract(rt, dev.charlie, grid.nodeId, HASH_A, 1));
  ok(nodeContract(rt, dev.charlie, grid.nodeId, HASH_B));
  rt.resetEvents();
  ok(run(rt, signed(grid.nodeAccount), tx(rt, 'TfgridModule', 'delete_node', grid.nodeId)));
  assert.equal(contract(rt, 1), null);
  assert.equal(contract(rt, 2), null);
  assert.deepEqual(storage(rt, 'ActiveNodeContracts', grid.nodeId), []);
  const names = eventNames(rt);
  assert.equal(names.filter((n) => n === 'smartContractModule.NodeContractCanceled').length, 2);
  assert.ok(names.includes('smartContractModule.IPsFreed'), 'the reserved public IP is released');
  assert.ok(names.indexOf('smartContractModule.NodeContractCanceled') < names.indexOf('tfgridModule.NodeDeleted'));
});
