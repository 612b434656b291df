import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stringToHex } from '@polkadot/util';
import {
  contract, dave, dev, eventNames, events, HASH_A, HASH_B, HASH_C, makeGridRuntime, nodeContract, ok, rootSc, sc, setupGrid, storage, tx, run, signed,
} from './smart-contract-fixtures.ts';
import { PUBLIC_IP } from './tfgrid-fixtures.ts';

const NOW_S = 1_700_000_000;

test('create_node_contract: stores the contract with its indexes and emits ContractCreated', () => {
  const rt = makeGridRuntime();
  const { nodeId } = setupGrid(rt);
  ok(nodeContract(rt, dev.charlie, nodeId, HASH_A));
  const c = storage(rt, 'Contracts', 1);
  assert.deepEqual(c, {
    version: 4,
    state: { created: null },
    contractId: 1,
    twinId: 3,
    contractType: {
      nodeContract: { nodeId, deploymentHash: stringToHex(HASH_A), deploymentData: stringToHex('deployment data'), publicIps: 0, publicIpsList: [] },
    },
    solutionProviderId: null,
  });
  assert.equal(storage(rt, 'ContractID'), 1);
  assert.equal(storage(rt, 'ContractIDByNodeIDAndHash', nodeId, HASH_A), 1);
  assert.deepEqual(storage(rt, 'ActiveNodeContracts', nodeId), [1]);
  assert.deepEqual(storage(rt, 'ContractsToBillAt', 1), [1]);
  assert.equal(storage(rt, 'ContractPaymentState', 1).lastUpdatedSeconds, NOW_S);
  assert.equal(storage(rt, 'ContractBillingInformationByID', 1).lastUpdated, NOW_S);
  assert.deepEqual(events(rt), [['smartContractModule.ContractCreated', [c]]]);
});

test('create_node_contract: the deployment hash reads back as the md5 hex text grid_client compares', () => {
  const rt = makeGridRuntime();
  const { nodeId } = setupGrid(rt);
  ok(nodeContract(rt, dev.charlie, nodeId, HASH_A));
  const c = rt.readStorage('SmartContractModule', 'Contracts', [1]) as any;
  assert.equal(c.contractType.asNodeContract.deploymentHash.toPrimitive(), HASH_A);
});

test('create_node_contract: refuses bad input with the tfchain error', async (t) => {
  const cases: Array<{ name: string; prepare?: (rt: ReturnType<typeof makeGridRuntime>, nodeId: number) => void; who?: string; node?: number; ips?: number; want: string }> = [
    { name: 'a signer without a twin', who: '0x' + '11'.repeat(32), want: 'TwinNotExists' },
    { name: 'an unknown node', node: 99, want: 'NodeNotExists' },
    { name: 'the same hash twice on a node', prepare: (rt, n) => ok(nodeContract(rt, dev.charlie, n, HASH_A)), want: 'ContractIsNotUnique' },
    { name: 'more IPs than the farm has', ips: 3, want: 'FarmHasNotEnoughPublicIPs' },
    { name: 'more IPs than are free', prepare: (rt, n) => ok(nodeContract(rt, dev.charlie, n, HASH_B, 2)), ips: 1, want: 'FarmHasNotEnoughPublicIPsFree' },
    {
      name: 'a node whose power target is Down',
      prepare: (rt, n) => ok(run(rt, signed(dev.alice), tx(rt, 'TfgridModule', 'change_power_target', n, 'Down'))),
      want: 'NodeNotAvailableToDeploy',
    },
    {
      name: 'a node in standby',
      prepare: (rt) => ok(run(rt, signed(dev.bob), tx(rt, 'TfgridModule', 'change_power_state', 'Down'))),
      want: 'NodeNotAvailableToDeploy',
    },
    { name: 'a dedicated node without a rent contract', prepare: (rt, n) => ok(sc(rt, dev.alice, 'set_dedicated_node_extra_fee', n, 1000)), want: 'NodeNotAvailableToDeploy' },
    { name: 'a node rented by another twin', prepare: (rt, n) => ok(sc(rt, dave, 'create_rent_contract', n, null)), want: 'NodeHasRentContract' },
    {
      name: 'a node of a dedicated farm without a rent contract',
      prepare: (rt) => ok(run(rt, { kind: 'root' }, tx(rt, 'TfgridModule', 'set_farm_dedicated', 1, true))),
      want: 'NodeNotAvailableToDeploy',
    },
  ];
  for (const tc of cases) {
    await t.test(tc.name, () => {
      const rt = makeGridRuntime();
      const { nodeId } = setupGrid(rt);
      tc.prepare?.(rt, nodeId);
      const before = storage(rt, 'ContractID');
      assert.equal(nodeContract(rt, tc.who ?? dev.charlie, tc.node ?? nodeId, HASH_A, tc.ips ?? 0), `SmartContractModule.${tc.want}`);
      assert.equal(storage(rt, 'ContractID'), before);
    });
  }
});

test('create_node_contract: refuses an unknown solution provider and oversized deployment data', () => {
  const rt = makeGridRuntime();
  const { nodeId } = setupGrid(rt);
  assert.equal(sc(rt, dev.charlie, 'create_node_contract', nodeId, HASH_A, 'x', 0, 5), 'SmartContractModule.NoSuchSolutionProvider');
  assert.equal(sc(rt, dev.charlie, 'create_node_contract', nodeId, HASH_A, 'x'.repeat(513), 0, null), 'Other');
  ok(sc(rt, dev.charlie, 'create_node_contract', nodeId, HASH_A, 'x'.repeat(512), 0, null));
});

test('create_node_contract: the same hash is accepted again once the first contract is canceled', () => {
  const rt = makeGridRuntime();
  const { nodeId } = setupGrid(rt);
  ok(nodeContract(rt, dev.charlie, nodeId, HASH_A));
  ok(sc(rt, dev.charlie, 'cancel_contract', 1));
  ok(nodeContract(rt, dev.charlie, nodeId, HASH_A));
  assert.equal(storage(rt, 'ContractIDByNodeIDAndHash', nodeId, HASH_A), 2);
});

test('public IPs: a contract reserves free farm IPs and cancel releases them with IPsFreed', () => {
  const rt = makeGridRuntime();
  const { nodeId, farmId } = setupGrid(rt);
  ok(nodeContract(rt, dev.charlie, nodeId, HASH_A, 1));
  ok(nodeContract(rt, dev.charlie, nodeId, HASH_B, 1));
  const ips = () => (rt.readStorage('TfgridModule', 'Farms', [farmId]) as any).publicIps.map((ip: any) => ip.contractId.toNumber());
  assert.deepEqual(ips(), [1, 2]);
  const list = storage(rt, 'Contracts', 2).contractType.nodeContract.publicIpsList;
  assert.deepEqual(list, [{ ip: stringToHex('185.206.122.34/24'), gateway: stringToHex('185.206.122.1'), contractId: 2 }]);
  assert.equal(nodeContract(rt, dev.charlie, nodeId, HASH_C, 1), 'SmartContractModule.FarmHasNotEnoughPublicIPsFree');
  rt.resetEvents();
  ok(sc(rt, dev.charlie, 'cancel_contract', 1));
  assert.deepEqual(ips(), [0, 2]);
  const freed = events(rt).find((e) => e[0] === 'smartContractModule.IPsFreed');
  assert.deepEqual(freed?.[1], [1, [{ ip: stringToHex(PUBLIC_IP.ip), gateway: stringToHex(PUBLIC_IP.gw), contractId: 1 }]]);
  ok(nodeContract(rt, dev.charlie, nodeId, HASH_C, 1));
  assert.deepEqual(ips(), [3, 2]);
});

test('update_node_contract: re-keys the hash index and emits ContractUpdated', () => {
  const rt = makeGridRuntime();
  const { nodeId } = setupGrid(rt);
  ok(nodeContract(rt, dev.charlie, nodeId, HASH_A));
  rt.resetEvents();
  ok(sc(rt, dev.charlie, 'update_node_contract', 1, HASH_B, 'new data'));
  assert.equal(storage(rt, 'ContractIDByNodeIDAndHash', nodeId, HASH_A), 0);
  assert.equal(storage(rt, 'ContractIDByNodeIDAndHash', nodeId, HASH_B), 1);
  const nc = storage(rt, 'Contracts', 1).contractType.nodeContract;
  assert.equal(nc.deploymentHash, stringToHex(HASH_B));
  assert.equal(nc.deploymentData, stringToHex('new data'));
  assert.deepEqual(eventNames(rt), ['smartContractModule.ContractUpdated']);
});

test('update_node_contract: refuses strangers, unknown contracts, taken hashes and contracts in grace', () => {
  const rt = makeGridRuntime();
  const { nodeId } = setupGrid(rt);
  ok(nodeContract(rt, dev.charlie, nodeId, HASH_A));
  ok(nodeContract(rt, dev.charlie, nodeId, HASH_B));
  ok(sc(rt, dev.charlie, 'create_name_contract', 'gateway'));
  const update = (who: string, id: number, hash = HASH_C) => sc(rt, who, 'update_node_contract', id, hash, 'x');
  assert.equal(update(dave, 1), 'SmartContractModule.TwinNotAuthorizedToUpdateContract');
  assert.equal(update(dev.charlie, 9), 'SmartContractModule.ContractNotExists');
  assert.equal(update(dev.charlie, 1, HASH_B), 'SmartContractModule.ContractIsNotUnique');
  assert.equal(update(dev.charlie, 3), 'SmartContractModule.InvalidContractType');
  const c = storage(rt, 'Contracts', 1);
  rt.writeStorage('SmartContractModule', 'Contracts', [1], { ...c, state: { GracePeriod: 5 } });
  assert.equal(update(dev.charlie, 1), 'SmartContractModule.CannotUpdateContractInGraceState');
});

test('cancel_contract: removes every trace of a node contract and emits NodeContractCanceled', () => {
  const rt = makeGridRuntime();
  const { nodeId } = setupGrid(rt);
  ok(nodeContract(rt, dev.charlie, nodeId, HASH_A));
  ok(sc(rt, dev.bob, 'report_contract_resources', [{ contractId: 1, used: { hru: 0, sru: 0, cru: 1, mru: 0 } }]));
  rt.resetEvents();
  ok(sc(rt, dev.charlie, 'cancel_contract', 1));
  assert.equal(storage(rt, 'Contracts', 1), null);
  assert.equal(storage(rt, 'ContractPaymentState', 1), null);
  assert.equal(storage(rt, 'ContractIDByNodeIDAndHash', nodeId, HASH_A), 0);
  assert.deepEqual(storage(rt, 'ActiveNodeContracts', nodeId), []);
  assert.deepEqual(storage(rt, 'ContractsToBillAt', 1), []);
  assert.deepEqual(storage(rt, 'NodeContractResources', 1).used, { hru: 0, sru: 0, cru: 0, mru: 0 });
  assert.deepEqual(events(rt).at(-1), ['smartContractModule.NodeContractCanceled', [1, nodeId, 3]]);
});

test('cancel_contract: only the owner may cancel; unknown ids are ContractNotExists', () => {
  const rt = makeGridRuntime();
  const { nodeId } = setupGrid(rt);
  ok(nodeContract(rt, dev.charlie, nodeId, HASH_A));
  assert.equal(sc(rt, dave, 'cancel_contract', 1), 'SmartContractModule.TwinNotAuthorizedToCancelContract');
  assert.equal(sc(rt, dev.charlie, 'cancel_contract', 7), 'SmartContractModule.ContractNotExists');
  assert.notEqual(contract(rt, 1), null);
});

test('cancel_contract_collective: root deletes any contract; signed origins get BadOrigin', () => {
  const rt = makeGridRuntime();
  const { nodeId } = setupGrid(rt);
  ok(nodeContract(rt, dev.charlie, nodeId, HASH_A));
  assert.equal(sc(rt, dev.charlie, 'cancel_contract_collective', 1), 'BadOrigin');
  ok(rootSc(rt, 'cancel_contract_collective', 1));
  assert.equal(contract(rt, 1), null);
  assert.ok(eventNames(rt).includes('smartContractModule.NodeContractCanceled'));
});

test('create_name_contract: registers the name; cancel frees it with NameContractCanceled', () => {
  const rt = makeGridRuntime();
  setupGrid(rt);
  ok(sc(rt, dev.charlie, 'create_name_contract', 'my-gw_01'));
  assert.deepEqual(storage(rt, 'Contracts', 1).contractType, { nameContract: { name: stringToHex('my-gw_01') } });
  assert.equal(storage(rt, 'ContractIDByNameRegistration', 'my-gw_01'), 1);
  assert.equal(sc(rt, dave, 'create_name_contract', 'my-gw_01'), 'SmartContractModule.NameExists');
  rt.resetEvents();
  ok(sc(rt, dev.charlie, 'cancel_contract', 1));
  assert.deepEqual(events(rt).at(-1), ['smartContractModule.NameContractCanceled', [1]]);
  assert.equal(storage(rt, 'ContractIDByNameRegistration', 'my-gw_01'), 0);
  ok(sc(rt, dave, 'create_name_contract', 'my-gw_01'));
});

test('create_name_contract: validates the name', async (t) => {
  const cases = [
    { name: 'ab', want: 'NameContractNameTooShort' },
    { name: 'a'.repeat(65), want: 'NameContractNameTooLong' },
    { name: 'UpperCase', want: 'NameNotValid' },
    { name: 'dot.name', want: 'NameNotValid' },
    { name: 'space name', want: 'NameNotValid' },
    { name: 'a'.repeat(64), want: null },
    { name: 'abc', want: null },
  ];
  const rt = makeGridRuntime();
  setupGrid(rt);
  for (const tc of cases) {
    await t.test(`${JSON.stringify(tc.name.slice(0, 12))} -> ${tc.want ?? 'ok'}`, () => {
      assert.equal(sc(rt, dev.charlie, 'create_name_contract', tc.name), tc.want && `SmartContractModule.${tc.want}`);
    });
  }
  assert.equal(sc(rt, '0x' + '22'.repeat(32), 'create_name_contract', 'nobody'), 'SmartContractModule.TwinNotExists');
});

test('create_rent_contract: rents an idle node; the renter alone deploys on it', () => {
  const rt = makeGridRuntime();
  const { nodeId } = setupGrid(rt);
  ok(sc(rt, dave, 'create_rent_contract', nodeId, null));
  assert.equal(storage(rt, 'ActiveRentContractForNode', nodeId), 1);
  assert.deepEqual(storage(rt, 'Contracts', 1).contractType, { rentContract: { nodeId } });
  assert.equal(sc(rt, dev.charlie, 'create_rent_contract', nodeId, null), 'SmartContractModule.NodeHasRentContract');
  assert.equal(nodeContract(rt, dev.charlie, nodeId, HASH_A), 'SmartContractModule.NodeHasRentContract');
  ok(nodeContract(rt, dave, nodeId, HASH_A));
  assert.equal(sc(rt, dave, 'cancel_contract', 1), 'SmartContractModule.NodeHasActiveContracts');
  ok(sc(rt, dave, 'cancel_contract', 2));
  rt.resetEvents();
  ok(sc(rt, dave, 'cancel_contract', 1));
  assert.deepEqual(events(rt).at(-1), ['smartContractModule.RentContractCanceled', [1]]);
  assert.equal(storage(rt, 'ActiveRentContractForNode', nodeId), null);
});

test('create_rent_contract: refuses a node with node contracts and unknown nodes', () => {
  const rt = makeGridRuntime();
  const { nodeId } = setupGrid(rt);
  assert.equal(sc(rt, dave, 'create_rent_contract', 42, null), 'SmartContractModule.NodeNotExists');
  ok(nodeContract(rt, dev.charlie, nodeId, HASH_A));
  assert.equal(sc(rt, dave, 'create_rent_contract', nodeId, null), 'SmartContractModule.NodeHasActiveContracts');
});

test('set_dedicated_node_extra_fee: the farmer makes a node rent-only and emits NodeExtraFeeSet', () => {
  const rt = makeGridRuntime();
  const { nodeId } = setupGrid(rt);
  assert.equal(sc(rt, dev.charlie, 'set_dedicated_node_extra_fee', nodeId, 5000), 'SmartContractModule.UnauthorizedToSetExtraFee');
  assert.equal(sc(rt, dev.alice, 'set_dedicated_node_extra_fee', 77, 5000), 'SmartContractModule.NodeNotExists');
  ok(sc(rt, dev.alice, 'set_dedicated_node_extra_fee', nodeId, 5000));
  assert.deepEqual(events(rt), [['smartContractModule.NodeExtraFeeSet', [nodeId, 5000]]]);
  assert.equal(storage(rt, 'DedicatedNodesExtraFee', nodeId), 5000);
  assert.equal(nodeContract(rt, dev.charlie, nodeId, HASH_A), 'SmartContractModule.NodeNotAvailableToDeploy');
  ok(sc(rt, dev.charlie, 'create_rent_contract', nodeId, null));
  ok(nodeContract(rt, dev.charlie, nodeId, HASH_A));
  assert.equal(sc(rt, dev.alice, 'set_dedicated_node_extra_fee', nodeId, 1), 'SmartContractModule.NodeHasActiveContracts');
});

test('report_contract_resources: only the twin of the contract node reports; UpdatedUsedResources', () => {
  const rt = makeGridRuntime();
  const { nodeId } = setupGrid(rt);
  ok(nodeContract(rt, dev.charlie, nodeId, HASH_A));
  const report = [{ contractId: 1, used: { hru: 0, sru: 100 * 1024 ** 3, cru: 2, mru: 4 * 1024 ** 3 } }];
  assert.equal(sc(rt, dev.charlie, 'report_contract_resources', report), 'SmartContractModule.NodeNotExists');
  rt.resetEvents();
  ok(sc(rt, dev.bob, 'report_contract_resources', [...report, { contractId: 99, used: report[0]!.used }]));
  assert.deepEqual(storage(rt, 'NodeContractResources', 1), report[0]);
  assert.deepEqual(events(rt), [['smartContractModule.UpdatedUsedResources', [report[0]]]]);
});

test('report_contract_resources: a node cannot report on another node\'s contract', async () => {
  const rt = makeGridRuntime();
  const { nodeId, farmId } = setupGrid(rt);
  const { node } = await import('./tfgrid-fixtures.ts');
  const other = node(rt, dev.charlie, farmId, { serial: 'SN-2' });
  assert.notEqual(other, nodeId);
  ok(nodeContract(rt, dave, nodeId, HASH_A));
  const report = [{ contractId: 1, used: { hru: 0, sru: 0, cru: 1, mru: 0 } }];
  assert.equal(sc(rt, dev.charlie, 'report_contract_resources', report), 'SmartContractModule.NodeNotAuthorizedToComputeReport');
});

test('add_nru_reports: adds the traffic cost to the unbilled amount and emits NruConsumptionReportReceived', () => {
  const rt = makeGridRuntime();
  const { nodeId } = setupGrid(rt);
  ok(nodeContract(rt, dev.charlie, nodeId, HASH_A));
  const report = { contractId: 1, timestamp: NOW_S, window: 3600, nru: 2 * 1024 ** 3 };
  rt.resetEvents();
  ok(sc(rt, dev.bob, 'add_nru_reports', [report]));
  // 2 GB at the dev NU price of 15000 USD units per GB.
  assert.equal(storage(rt, 'ContractBillingInformationByID', 1).amountUnbilled, 30000);
  assert.deepEqual(events(rt), [['smartContractModule.NruConsumptionReportReceived', [report]]]);
});

test('batch_all: a name contract and two node contracts in one call, then all-or-nothing on failure', () => {
  const rt = makeGridRuntime();
  const { nodeId } = setupGrid(rt);
  const make = (hash2: string) => [
    tx(rt, 'SmartContractModule', 'create_name_contract', 'batchgw'),
    tx(rt, 'SmartContractModule', 'create_node_contract', nodeId, HASH_A, 'a', 0, null),
    tx(rt, 'SmartContractModule', 'create_node_contract', nodeId, hash2, 'b', 1, null),
  ];
  ok(run(rt, signed(dev.charlie), tx(rt, 'Utility', 'batch_all', make(HASH_B))));
  assert.deepEqual(eventNames(rt), [
    'smartContractModule.ContractCreated', 'utility.ItemCompleted',
    'smartContractModule.ContractCreated', 'utility.ItemCompleted',
    'smartContractModule.ContractCreated', 'utility.ItemCompleted',
    'utility.BatchCompleted',
  ]);
  assert.deepEqual(storage(rt, 'ActiveNodeContracts', nodeId), [2, 3]);
  rt.resetEvents();
  ok(sc(rt, dev.charlie, 'cancel_contract', 1));
  rt.resetEvents();
  // The second node contract repeats HASH_A: the whole batch is rolled back, including the name contract.
  const again = [tx(rt, 'SmartContractModule', 'create_name_contract', 'batchgw'), ...make(HASH_A).slice(1)];
  assert.equal(run(rt, signed(dev.charlie), tx(rt, 'Utility', 'batch_all', again)), 'SmartContractModule.ContractIsNotUnique');
  assert.equal(storage(rt, 'ContractIDByNameRegistration', 'batchgw'), 0);
  assert.equal(storage(rt, 'ContractID'), 3);
  assert.deepEqual(events(rt), []);
});
