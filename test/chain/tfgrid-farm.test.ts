import { test } from 'node:test';
import assert from 'node:assert/strict';
import { farmIdByName, getFarm, putFarm } from '../../chain/devnet/pallets/tfgrid/queries.ts';
import { call, dev, eventNames, events, farm, makeRuntime, ok, PUBLIC_IP, rootCall, snapshot, twin } from './tfgrid-fixtures.ts';

test('tfgrid create_farm: stores the farm with its public IPs and emits FarmStored', () => {
  const rt = makeRuntime();
  twin(rt, dev.alice);
  rt.resetEvents();
  ok(call(rt, dev.alice, 'create_farm', 'my_farm-1', [PUBLIC_IP, { ip: '185.206.122.34/24', gw: '185.206.122.1' }]));
  const ctx = rt.hooks();
  assert.deepEqual(getFarm(ctx, 1), {
    version: 4, id: 1, name: 'my_farm-1', twinId: 1, pricingPolicyId: 1, certification: 'NotCertified',
    publicIps: [
      { ip: '185.206.122.33/24', gateway: '185.206.122.1', contractId: 0 },
      { ip: '185.206.122.34/24', gateway: '185.206.122.1', contractId: 0 },
    ],
    dedicatedFarm: false, farmingPolicyLimits: null,
  });
  assert.equal(farmIdByName(ctx, 'my_farm-1'), 1);
  assert.equal((rt.readStorage('TfgridModule', 'FarmID', []) as any).toNumber(), 1);
  assert.deepEqual(eventNames(rt), ['tfgridModule.FarmStored']);
});

const badFarms: Array<[string, string, Array<{ ip: string; gw: string }>, string]> = [
  ['a 2-character name', 'ab', [], 'FarmNameTooShort'],
  ['a name with a space', 'my farm', [], 'InvalidFarmName'],
  ['a name with a dot', 'my.farm', [], 'InvalidFarmName'],
  ['a private IP', 'farm1', [{ ip: '10.0.0.5/24', gw: '10.0.0.1' }], 'InvalidPublicIP'],
  ['a gateway outside the subnet', 'farm1', [{ ip: '185.206.122.33/24', gw: '185.206.123.1' }], 'InvalidPublicIP'],
  ['an IP without a prefix', 'farm1', [{ ip: '185.206.122.33', gw: '185.206.122.1' }], 'InvalidPublicIP'],
  ['a gateway equal to the network address', 'farm1', [{ ip: '185.206.122.33/24', gw: '185.206.122.0' }], 'InvalidPublicIP'],
  ['a malformed gateway', 'farm1', [{ ip: '185.206.122.33/24', gw: '185.206.122' }], 'InvalidPublicIP'],
  ['the same IP twice', 'farm1', [PUBLIC_IP, PUBLIC_IP], 'IpExists'],
];
for (const [what, name, ips, error] of badFarms) {
  test(`tfgrid create_farm: rejects ${what} with ${error} and stores nothing`, () => {
    const rt = makeRuntime();
    twin(rt, dev.alice);
    const before = snapshot(rt);
    assert.equal(call(rt, dev.alice, 'create_farm', name, ips), `TfgridModule.${error}`);
    assert.deepEqual(snapshot(rt), before);
  });
}

test('tfgrid create_farm: needs a twin (TwinNotExists) and a unique name (FarmExists)', () => {
  const rt = makeRuntime();
  assert.equal(call(rt, dev.alice, 'create_farm', 'farm1', []), 'TfgridModule.TwinNotExists');
  farm(rt, dev.alice, 'farm1');
  twin(rt, dev.bob);
  assert.equal(call(rt, dev.bob, 'create_farm', 'farm1', []), 'TfgridModule.FarmExists');
});

test('tfgrid update_farm: renames, moves the name index and emits FarmUpdated', () => {
  const rt = makeRuntime();
  const id = farm(rt, dev.alice, 'farm1');
  rt.resetEvents();
  ok(call(rt, dev.alice, 'update_farm', id, 'farm2'));
  const ctx = rt.hooks();
  assert.equal(getFarm(ctx, id)?.name, 'farm2');
  assert.equal(farmIdByName(ctx, 'farm1'), null);
  assert.equal(farmIdByName(ctx, 'farm2'), id);
  assert.deepEqual(eventNames(rt), ['tfgridModule.FarmUpdated']);
  rt.resetEvents();
  ok(call(rt, dev.alice, 'update_farm', id, 'farm2'));
  assert.deepEqual(eventNames(rt), [], 'same name: nothing to do');
});

test('tfgrid update_farm: refuses other twins, unknown farms and names of other farms', () => {
  const rt = makeRuntime();
  const id = farm(rt, dev.alice, 'farm1');
  farm(rt, dev.bob, 'farm2');
  assert.equal(call(rt, dev.bob, 'update_farm', id, 'farm3'), 'TfgridModule.CannotUpdateFarmWrongTwin');
  assert.equal(call(rt, dev.alice, 'update_farm', 9, 'farm3'), 'TfgridModule.FarmNotExists');
  assert.equal(call(rt, dev.alice, 'update_farm', id, 'farm2'), 'TfgridModule.InvalidFarmName');
  assert.equal(call(rt, dev.charlie, 'update_farm', id, 'farm3'), 'TfgridModule.TwinNotExists');
  assert.equal(getFarm(rt.hooks(), id)?.name, 'farm1');
});

test('tfgrid add_stellar_payout_v2address: stores the address for the farmer only', () => {
  const rt = makeRuntime();
  const id = farm(rt, dev.alice);
  twin(rt, dev.bob);
  assert.equal(call(rt, dev.bob, 'add_stellar_payout_v2address', id, 'GABC'), 'TfgridModule.CannotUpdateFarmWrongTwin');
  rt.resetEvents();
  ok(call(rt, dev.alice, 'add_stellar_payout_v2address', id, 'GABC'));
  assert.equal((rt.readStorage('TfgridModule', 'FarmPayoutV2AddressByFarmID', [id]) as any).toUtf8(), 'GABC');
  assert.deepEqual(events(rt), [['tfgridModule.FarmPayoutV2AddressRegistered', [id, '0x47414243']]]);
});

test('tfgrid add_farm_ip / remove_farm_ip: add a free IP, refuse duplicates and unknown IPs', () => {
  const rt = makeRuntime();
  const id = farm(rt, dev.alice, 'farm1', []);
  rt.resetEvents();
  ok(call(rt, dev.alice, 'add_farm_ip', id, PUBLIC_IP.ip, PUBLIC_IP.gw));
  assert.deepEqual(getFarm(rt.hooks(), id)?.publicIps, [{ ip: PUBLIC_IP.ip, gateway: PUBLIC_IP.gw, contractId: 0 }]);
  assert.deepEqual(eventNames(rt), ['tfgridModule.FarmUpdated']);
  assert.equal(call(rt, dev.alice, 'add_farm_ip', id, PUBLIC_IP.ip, PUBLIC_IP.gw), 'TfgridModule.IpExists');
  assert.equal(call(rt, dev.alice, 'add_farm_ip', id, '192.168.1.2/24', '192.168.1.1'), 'TfgridModule.InvalidPublicIP');
  assert.equal(call(rt, dev.alice, 'remove_farm_ip', id, '185.206.122.99/24'), 'TfgridModule.IpNotExists');
  ok(call(rt, dev.alice, 'remove_farm_ip', id, PUBLIC_IP.ip));
  assert.deepEqual(getFarm(rt.hooks(), id)?.publicIps, []);
});

test('tfgrid add_farm_ip / remove_farm_ip: only the farmer may change IPs', () => {
  const rt = makeRuntime();
  const id = farm(rt, dev.alice);
  twin(rt, dev.bob);
  assert.equal(call(rt, dev.bob, 'add_farm_ip', id, '185.206.122.40/24', '185.206.122.1'), 'TfgridModule.CannotUpdateFarmWrongTwin');
  assert.equal(call(rt, dev.bob, 'remove_farm_ip', id, PUBLIC_IP.ip), 'TfgridModule.CannotUpdateFarmWrongTwin');
  assert.equal(call(rt, dev.alice, 'add_farm_ip', 5, '185.206.122.40/24', '185.206.122.1'), 'TfgridModule.FarmNotExists');
});

test('tfgrid remove_farm_ip: an IP reserved by a contract cannot be removed (IpNotExists) until force_reset_farm_ip', () => {
  const rt = makeRuntime();
  const id = farm(rt, dev.alice);
  const ctx = rt.hooks();
  putFarm(ctx, { ...getFarm(ctx, id)!, publicIps: [{ ip: PUBLIC_IP.ip, gateway: PUBLIC_IP.gw, contractId: 12 }] });
  assert.equal(call(rt, dev.alice, 'remove_farm_ip', id, PUBLIC_IP.ip), 'TfgridModule.IpNotExists');
  assert.equal(call(rt, dev.alice, 'force_reset_farm_ip', id, PUBLIC_IP.ip), 'BadOrigin');
  ok(rootCall(rt, 'force_reset_farm_ip', id, PUBLIC_IP.ip));
  assert.equal(getFarm(rt.hooks(), id)?.publicIps[0]?.contractId, 0);
  ok(call(rt, dev.alice, 'remove_farm_ip', id, PUBLIC_IP.ip));
});

test('tfgrid set_farm_certification / set_farm_dedicated: root only, with their events', () => {
  const rt = makeRuntime();
  const id = farm(rt, dev.alice);
  assert.equal(call(rt, dev.alice, 'set_farm_certification', id, 'Gold'), 'BadOrigin');
  assert.equal(call(rt, dev.alice, 'set_farm_dedicated', id, true), 'BadOrigin');
  rt.resetEvents();
  ok(rootCall(rt, 'set_farm_certification', id, 'Gold'));
  ok(rootCall(rt, 'set_farm_dedicated', id, true));
  const f = getFarm(rt.hooks(), id)!;
  assert.equal(f.certification, 'Gold');
  assert.equal(f.dedicatedFarm, true);
  assert.deepEqual(events(rt).map((e) => e[0]), ['tfgridModule.FarmCertificationSet', 'tfgridModule.FarmUpdated']);
  assert.deepEqual(events(rt)[0]![1], [id, 'Gold']);
  assert.equal(rootCall(rt, 'set_farm_dedicated', 99, true), 'TfgridModule.FarmNotExists');
});
