import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PalletDecl } from '../../chain/devnet/runtime/pallet.ts';
import { nodePower } from '../../chain/devnet/pallets/tfgrid/queries.ts';
import { phantom, seq, u32, u64 } from '../../chain/devnet/metadata/scale-info.ts';
import { tfgridPallet } from '../../chain/devnet/pallets/tfgrid/index.ts';
import { call, dev, events, farm, makeRuntime, node, NOW_S, ok, runtimeWith, snapshot, tx, run, signed } from './tfgrid-fixtures.ts';

const hints: Array<[string, number, boolean]> = [
  ['now', NOW_S, true],
  ['60 s early', NOW_S - 60, true],
  ['60 s late', NOW_S + 60, true],
  ['61 s early', NOW_S - 61, false],
  ['61 s late', NOW_S + 61, false],
  ['zero', 0, false],
];
for (const [what, hint, valid] of hints) {
  test(`tfgrid report_uptime_v2: a timestamp hint ${what} is ${valid ? 'accepted' : 'rejected with InvalidTimestampHint'}`, () => {
    const rt = makeRuntime();
    const id = node(rt, dev.bob, farm(rt, dev.alice));
    rt.resetEvents();
    assert.equal(call(rt, dev.bob, 'report_uptime_v2', 3600, hint), valid ? null : 'TfgridModule.InvalidTimestampHint');
    assert.deepEqual(events(rt), valid ? [['tfgridModule.NodeUptimeReported', [id, NOW_S, 3600]]] : []);
  });
}

test('tfgrid report_uptime / report_uptime_v2: fee-free, and only for a twin with a node', () => {
  const rt = makeRuntime();
  assert.equal(call(rt, dev.bob, 'report_uptime_v2', 1, NOW_S), 'TfgridModule.TwinNotExists');
  farm(rt, dev.alice);
  assert.equal(call(rt, dev.alice, 'report_uptime', 1), 'TfgridModule.NodeNotExists');
  const id = node(rt, dev.bob, 1);
  rt.resetEvents();
  ok(call(rt, dev.bob, 'report_uptime', 42));
  assert.deepEqual(events(rt), [['tfgridModule.NodeUptimeReported', [id, NOW_S, 42]]]);
  assert.equal(rt.paysFee(tx(rt, 'TfgridModule', 'report_uptime_v2', 1, NOW_S)), false);
  assert.equal(rt.paysFee(tx(rt, 'TfgridModule', 'report_uptime', 1)), false);
  assert.equal(rt.paysFee(tx(rt, 'TfgridModule', 'create_twin', null, null)), true);
});

test('tfgrid change_power_state: the node goes Down at the current block and back Up (PowerStateChanged)', () => {
  const rt = makeRuntime();
  const farmId = farm(rt, dev.alice);
  const id = node(rt, dev.bob, farmId);
  assert.deepEqual(nodePower(rt.hooks(), id), { state: 'Up', target: 'Up' });
  rt.resetEvents();
  ok(call(rt, dev.bob, 'change_power_state', 'Down'));
  assert.deepEqual(nodePower(rt.hooks(), id), { state: { Down: 1 }, target: 'Up' });
  assert.deepEqual(events(rt), [['tfgridModule.PowerStateChanged', [farmId, id, { down: 1 }]]]);
  ok(call(rt, dev.bob, 'change_power_state', 'Down'));
  assert.equal(events(rt).length, 1, 'an unchanged state emits nothing');
  ok(call(rt, dev.bob, 'change_power_state', 'Up'));
  assert.deepEqual(nodePower(rt.hooks(), id).state, 'Up');
  assert.equal(call(rt, dev.alice, 'change_power_state', 'Down'), 'TfgridModule.NodeNotExists');
});

test('tfgrid change_power_target: the farmer sets the target (PowerTargetChanged); others are refused', () => {
  const rt = makeRuntime();
  const farmId = farm(rt, dev.alice);
  const id = node(rt, dev.bob, farmId);
  const before = snapshot(rt);
  assert.equal(call(rt, dev.bob, 'change_power_target', id, 'Down'), 'TfgridModule.UnauthorizedToChangePowerTarget');
  assert.equal(call(rt, dev.alice, 'change_power_target', 9, 'Down'), 'TfgridModule.NodeNotExists');
  assert.equal(call(rt, dev.charlie, 'change_power_target', id, 'Down'), 'TfgridModule.TwinNotExists');
  assert.deepEqual(snapshot(rt), before);
  rt.resetEvents();
  ok(call(rt, dev.alice, 'change_power_target', id, 'Down'));
  assert.deepEqual(nodePower(rt.hooks(), id), { state: 'Up', target: 'Down' });
  assert.deepEqual(events(rt), [['tfgridModule.PowerTargetChanged', [farmId, id, 'Down']]]);
});

/** A stand-in SmartContractModule with just the storage change_power_target reads. */
const contractsStub = (): PalletDecl => ({
  name: 'SmartContractModule', index: 26, typePath: 'pallet_smart_contract::pallet', typeParams: phantom('T'),
  storage: [{ name: 'ActiveNodeContracts', modifier: 'Default', type: { map: { hashers: ['Blake2_128Concat'], key: u32, value: seq(u64) } } }],
});

test('tfgrid change_power_target: Down is refused while SmartContractModule lists active contracts on the node', () => {
  const rt = runtimeWith([tfgridPallet(), contractsStub()]);
  const farmId = farm(rt, dev.alice);
  const id = node(rt, dev.bob, farmId);
  rt.writeStorage('SmartContractModule', 'ActiveNodeContracts', [id], [7]);
  const down = tx(rt, 'TfgridModule', 'change_power_target', id, 'Down');
  assert.equal(run(rt, signed(dev.alice), down), 'TfgridModule.NodeHasActiveContracts');
  ok(call(rt, dev.alice, 'change_power_target', id, 'Up'));
  rt.writeStorage('SmartContractModule', 'ActiveNodeContracts', [id], []);
  ok(run(rt, signed(dev.alice), down));
});
