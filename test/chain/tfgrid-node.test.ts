import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tfgridPallet } from '../../chain/devnet/pallets/tfgrid/index.ts';
import { getNode, nodeIdOfTwin, nodesOfFarm } from '../../chain/devnet/pallets/tfgrid/queries.ts';
import {
  call, dev, eventNames, events, farm, GIB, INTERFACES, LOCATION, makeRuntime, node, nodeArgs, NOW_S, ok, RESOURCES, rootCall, runtimeWith,
  snapshot, twin,
  type NodeArgs,
} from './tfgrid-fixtures.ts';

test('tfgrid create_node: stores the node with created time, DIY policy and connection price, and indexes it', () => {
  const rt = makeRuntime();
  const farmId = farm(rt, dev.alice);
  twin(rt, dev.bob);
  rt.resetEvents();
  ok(call(rt, dev.bob, 'create_node', farmId, ...nodeArgs()));
  const ctx = rt.hooks();
  assert.deepEqual(getNode(ctx, 1), {
    version: 5, id: 1, farmId, twinId: 2, resources: RESOURCES, location: LOCATION, publicConfig: null, created: NOW_S,
    farmingPolicyId: 1, interfaces: INTERFACES, certification: 'Diy', secureBoot: false, virtualized: false, serialNumber: 'SN-1',
    connectionPrice: 80,
  });
  assert.equal(nodeIdOfTwin(ctx, 2), 1);
  assert.deepEqual(nodesOfFarm(ctx, farmId), [1]);
  assert.equal((rt.readStorage('TfgridModule', 'NodeID', []) as any).toNumber(), 1);
  assert.deepEqual(eventNames(rt), ['tfgridModule.NodeStored']);
});

test('tfgrid create_node: accepts "Unknown" coordinates, no serial number and no interfaces', () => {
  const rt = makeRuntime();
  const farmId = farm(rt, dev.alice);
  const location = { city: 'Unknown', country: 'Unknown', latitude: 'Unknown', longitude: 'Unknown' };
  const id = node(rt, dev.bob, farmId, { location, serial: null, interfaces: [] });
  assert.deepEqual(getNode(rt.hooks(), id)?.location, location);
  assert.equal(getNode(rt.hooks(), id)?.serialNumber, null);
});

test('tfgrid create_node: needs the farm, a twin, and one node per twin', () => {
  const rt = makeRuntime();
  const farmId = farm(rt, dev.alice);
  assert.equal(call(rt, dev.bob, 'create_node', farmId, ...nodeArgs()), 'TfgridModule.TwinNotExists');
  twin(rt, dev.bob);
  assert.equal(call(rt, dev.bob, 'create_node', 42, ...nodeArgs()), 'TfgridModule.FarmNotExists');
  ok(call(rt, dev.bob, 'create_node', farmId, ...nodeArgs()));
  const before = snapshot(rt);
  assert.equal(call(rt, dev.bob, 'create_node', farmId, ...nodeArgs()), 'TfgridModule.NodeWithTwinIdExists');
  assert.deepEqual(snapshot(rt), before);
});

const badNodes: Array<[string, NodeArgs, string]> = [
  ['sru under 100 GiB', { resources: { ...RESOURCES, sru: 100 * GIB - 1 } }, 'InvalidSRUInput'],
  ['no cpu', { resources: { ...RESOURCES, cru: 0 } }, 'InvalidCRUInput'],
  ['mru under 2 GiB', { resources: { ...RESOURCES, mru: 2 * GIB - 1 } }, 'InvalidMRUInput'],
  ['an empty city', { location: { ...LOCATION, city: '' } }, 'CityNameTooShort'],
  ['a 1-letter country', { location: { ...LOCATION, country: 'B' } }, 'CountryNameTooShort'],
  ['latitude 91', { location: { ...LOCATION, latitude: '91' } }, 'InvalidLatitudeInput'],
  ['latitude text', { location: { ...LOCATION, latitude: 'north' } }, 'InvalidLatitudeInput'],
  ['an empty latitude', { location: { ...LOCATION, latitude: '' } }, 'LatitudeInputTooShort'],
  ['longitude -180.5', { location: { ...LOCATION, longitude: '-180.5' } }, 'InvalidLongitudeInput'],
  ['an interface name with capitals', { interfaces: [{ ...INTERFACES[0]!, name: 'Eth0' }] }, 'InvalidInterfaceName'],
  ['a 2-letter interface name', { interfaces: [{ ...INTERFACES[0]!, name: 'e0' }] }, 'InterfaceNameTooShort'],
  ['a short MAC', { interfaces: [{ ...INTERFACES[0]!, mac: '00:25:90:b8:1d' }] }, 'InterfaceMacTooShort'],
  ['a MAC with non-hex digits', { interfaces: [{ ...INTERFACES[0]!, mac: '00:25:90:b8:1d:zz' }] }, 'InvalidMacAddress'],
  ['an interface IP that is not an IP', { interfaces: [{ ...INTERFACES[0]!, ips: ['not-an-ip'] }] }, 'InvalidInterfaceIP'],
  ['a 6-character interface IP', { interfaces: [{ ...INTERFACES[0]!, ips: ['1.2.3.'] }] }, 'InterfaceIpTooShort'],
];
for (const [what, args, error] of badNodes) {
  test(`tfgrid create_node: rejects ${what} with ${error} and stores nothing`, () => {
    const rt = makeRuntime();
    const farmId = farm(rt, dev.alice);
    twin(rt, dev.bob);
    const before = snapshot(rt);
    assert.equal(call(rt, dev.bob, 'create_node', farmId, ...nodeArgs(args)), `TfgridModule.${error}`);
    assert.deepEqual(snapshot(rt), before);
  });
}

test('tfgrid create_node: refuses resources past 2^53 bytes instead of rounding them', () => {
  const rt = makeRuntime();
  const farmId = farm(rt, dev.alice);
  twin(rt, dev.bob);
  const resources = { ...RESOURCES, hru: 2n ** 60n };
  assert.equal(call(rt, dev.bob, 'create_node', farmId, resources, LOCATION, INTERFACES, false, false, null), 'Other');
});

test('tfgrid update_node: updates the description, moves the node between farms, pays no fee', () => {
  const rt = makeRuntime();
  const farm1 = farm(rt, dev.alice, 'farm1');
  const farm2 = farm(rt, dev.charlie, 'farm2');
  const id = node(rt, dev.bob, farm1);
  rt.resetEvents();
  const resources = { ...RESOURCES, cru: 16 };
  ok(call(rt, dev.bob, 'update_node', id, farm2, ...nodeArgs({ resources, serial: null })));
  const n = getNode(rt.hooks(), id)!;
  assert.equal(n.farmId, farm2);
  assert.deepEqual(n.resources, resources);
  assert.equal(n.serialNumber, null);
  assert.deepEqual(nodesOfFarm(rt.hooks(), farm1), []);
  assert.deepEqual(nodesOfFarm(rt.hooks(), farm2), [id]);
  assert.deepEqual(eventNames(rt), ['tfgridModule.NodeUpdated']);
  assert.equal(rt.paysFee(rt.registry.createType('Call', { callIndex: [25, 9], args: {} } as any) as any), false);
});

test('tfgrid update_node: a certified node whose resources change falls back to DIY', () => {
  const rt = makeRuntime();
  const id = node(rt, dev.bob, farm(rt, dev.alice));
  ok(rootCall(rt, 'set_node_certification', id, 'Certified'));
  rt.resetEvents();
  ok(call(rt, dev.bob, 'update_node', id, 1, ...nodeArgs({ resources: { ...RESOURCES, mru: 32 * GIB } })));
  assert.equal(getNode(rt.hooks(), id)?.certification, 'Diy');
  assert.deepEqual(events(rt), [['tfgridModule.NodeCertificationSet', [id, 'Diy']], ['tfgridModule.NodeUpdated', events(rt)[1]![1]]]);
});

test('tfgrid update_node: only the node twin, on an existing farm, with valid input', () => {
  const rt = makeRuntime();
  const farmId = farm(rt, dev.alice);
  const id = node(rt, dev.bob, farmId);
  assert.equal(call(rt, dev.alice, 'update_node', id, farmId, ...nodeArgs()), 'TfgridModule.NodeUpdateNotAuthorized');
  assert.equal(call(rt, dev.bob, 'update_node', 9, farmId, ...nodeArgs()), 'TfgridModule.NodeNotExists');
  assert.equal(call(rt, dev.bob, 'update_node', id, 9, ...nodeArgs()), 'TfgridModule.FarmNotExists');
  const before = snapshot(rt);
  assert.equal(call(rt, dev.bob, 'update_node', id, farmId, ...nodeArgs({ resources: { ...RESOURCES, cru: 0 } })), 'TfgridModule.InvalidCRUInput');
  assert.deepEqual(snapshot(rt), before);
});

const PUBLIC_CONFIG = {
  ip4: { ip: '185.206.122.40/24', gw: '185.206.122.1' },
  ip6: { ip: '2a02:1802:5e::40/64', gw: '2a02:1802:5e::1' },
  domain: 'node1.grid.tf',
};

test('tfgrid add_node_public_config: the farmer sets and clears a public config (NodePublicConfigStored)', () => {
  const rt = makeRuntime();
  const farmId = farm(rt, dev.alice);
  const id = node(rt, dev.bob, farmId);
  rt.resetEvents();
  ok(call(rt, dev.alice, 'add_node_public_config', farmId, id, PUBLIC_CONFIG));
  assert.deepEqual(getNode(rt.hooks(), id)?.publicConfig, PUBLIC_CONFIG);
  assert.deepEqual(eventNames(rt), ['tfgridModule.NodePublicConfigStored']);
  ok(call(rt, dev.alice, 'add_node_public_config', farmId, id, { ...PUBLIC_CONFIG, ip6: null, domain: null }));
  assert.deepEqual(getNode(rt.hooks(), id)?.publicConfig, { ...PUBLIC_CONFIG, ip6: null, domain: null });
  ok(call(rt, dev.alice, 'add_node_public_config', farmId, id, null));
  assert.equal(getNode(rt.hooks(), id)?.publicConfig, null);
  assert.deepEqual(events(rt).at(-1), ['tfgridModule.NodePublicConfigStored', [id, null]]);
});

const badConfigs: Array<[string, unknown]> = [
  ['a private IPv4', { ...PUBLIC_CONFIG, ip4: { ip: '192.168.1.5/24', gw: '192.168.1.1' } }],
  ['an IPv4 gateway outside the subnet', { ...PUBLIC_CONFIG, ip4: { ip: '185.206.122.40/24', gw: '185.206.121.1' } }],
  ['a link-local IPv6', { ...PUBLIC_CONFIG, ip6: { ip: 'fe80::40/64', gw: 'fe80::1' } }],
  ['an IPv6 gateway outside the subnet', { ...PUBLIC_CONFIG, ip6: { ip: '2a02:1802:5e::40/64', gw: '2a02:1802:5f::1' } }],
  ['a domain with an underscore', { ...PUBLIC_CONFIG, domain: 'node_1.grid.tf' }],
];
for (const [what, config] of badConfigs) {
  test(`tfgrid add_node_public_config: rejects ${what} with InvalidPublicConfig`, () => {
    const rt = makeRuntime();
    const farmId = farm(rt, dev.alice);
    const id = node(rt, dev.bob, farmId);
    const before = snapshot(rt);
    assert.equal(call(rt, dev.alice, 'add_node_public_config', farmId, id, config), 'TfgridModule.InvalidPublicConfig');
    assert.deepEqual(snapshot(rt), before);
  });
}

test('tfgrid add_node_public_config: refuses other twins and nodes of another farm', () => {
  const rt = makeRuntime();
  const farmId = farm(rt, dev.alice, 'farm1');
  const other = farm(rt, dev.charlie, 'farm2');
  const id = node(rt, dev.bob, farmId);
  assert.equal(call(rt, dev.bob, 'add_node_public_config', farmId, id, PUBLIC_CONFIG), 'TfgridModule.CannotUpdateFarmWrongTwin');
  assert.equal(call(rt, dev.charlie, 'add_node_public_config', other, id, PUBLIC_CONFIG), 'TfgridModule.NodeUpdateNotAuthorized');
  assert.equal(call(rt, dev.alice, 'add_node_public_config', farmId, 9, PUBLIC_CONFIG), 'TfgridModule.NodeNotExists');
});

test('tfgrid delete_node: the node twin removes it from every index (NodeDeleted)', () => {
  const rt = makeRuntime();
  const farmId = farm(rt, dev.alice);
  const id = node(rt, dev.bob, farmId);
  assert.equal(call(rt, dev.alice, 'delete_node', id), 'TfgridModule.NodeUpdateNotAuthorized');
  rt.resetEvents();
  ok(call(rt, dev.bob, 'delete_node', id));
  const ctx = rt.hooks();
  assert.equal(getNode(ctx, id), null);
  assert.equal(nodeIdOfTwin(ctx, 2), null);
  assert.deepEqual(nodesOfFarm(ctx, farmId), []);
  assert.deepEqual(events(rt), [['tfgridModule.NodeDeleted', [id]]]);
  assert.equal(call(rt, dev.bob, 'delete_node', id), 'TfgridModule.NodeNotExists');
});

test('tfgrid delete_node_farm: only the farmer of the node farm may delete it', () => {
  const rt = makeRuntime();
  const farmId = farm(rt, dev.alice);
  const id = node(rt, dev.bob, farmId);
  assert.equal(call(rt, dev.bob, 'delete_node_farm', id), 'TfgridModule.FarmerNotAuthorized');
  ok(call(rt, dev.alice, 'delete_node_farm', id));
  assert.equal(getNode(rt.hooks(), id), null);
  assert.deepEqual(nodesOfFarm(rt.hooks(), farmId), []);
  assert.deepEqual(eventNames(rt).at(-1), 'tfgridModule.NodeDeleted');
});

test('tfgrid set_node_certification: root or an allowed certifier; certified nodes move to the certified policy', () => {
  const rt = makeRuntime();
  const id = node(rt, dev.bob, farm(rt, dev.alice));
  assert.equal(call(rt, dev.charlie, 'set_node_certification', id, 'Certified'), 'TfgridModule.NotAllowedToCertifyNode');
  ok(rootCall(rt, 'add_node_certifier', dev.charlie));
  assert.equal(rootCall(rt, 'add_node_certifier', dev.charlie), 'TfgridModule.AlreadyCertifier');
  rt.resetEvents();
  ok(call(rt, dev.charlie, 'set_node_certification', id, 'Certified'));
  const n = getNode(rt.hooks(), id)!;
  assert.equal(n.certification, 'Certified');
  assert.equal(n.farmingPolicyId, 2);
  assert.deepEqual(eventNames(rt), ['tfgridModule.NodeUpdated', 'tfgridModule.NodeCertificationSet']);
  ok(rootCall(rt, 'remove_node_certifier', dev.charlie));
  assert.equal(rootCall(rt, 'remove_node_certifier', dev.charlie), 'TfgridModule.NotCertifier');
  assert.equal(call(rt, dev.charlie, 'set_node_certification', id, 'Diy'), 'TfgridModule.NotAllowedToCertifyNode');
  assert.equal(call(rt, dev.alice, 'add_node_certifier', dev.alice), 'BadOrigin');
});

test('tfgrid node hooks: nodeChanged on create/update, nodeDeleted before removal, nodePowerStateChanged on a new state', () => {
  const seen: string[] = [];
  const rt = runtimeWith([
    tfgridPallet({}, {
      nodeChanged: (_ctx, previous, n) => seen.push(`changed ${previous?.id ?? 'new'} -> ${n.id}`),
      nodeDeleted: (ctx, n) => seen.push(`deleted ${n.id} stored=${getNode(ctx, n.id) !== null}`),
      nodePowerStateChanged: (_ctx, n) => seen.push(`power ${n.id}`),
    }),
  ]);
  const farmId = farm(rt, dev.alice);
  const id = node(rt, dev.bob, farmId);
  ok(call(rt, dev.bob, 'update_node', id, farmId, ...nodeArgs()));
  ok(call(rt, dev.bob, 'change_power_state', 'Down'));
  ok(call(rt, dev.bob, 'change_power_state', 'Down'));
  ok(call(rt, dev.bob, 'delete_node', id));
  assert.deepEqual(seen, ['changed new -> 1', 'changed 1 -> 1', 'power 1', 'deleted 1 stored=true']);
});
