import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  farmIdByName, getFarm, getNode, getTwin, isFarmOwner, nodeIdOfTwin, nodePower, nodesOfFarm, putFarm, putNodePower, termsAccepted, twinIdOf,
} from '../../chain/devnet/pallets/tfgrid/queries.ts';
import { dev, farm, LOCATION, makeRuntime, node, PUBLIC_IP } from './tfgrid-fixtures.ts';

test('tfgrid queries: absent twins, farms, nodes and terms read as null or empty', () => {
  const ctx = makeRuntime().hooks();
  assert.equal(twinIdOf(ctx, dev.alice), null);
  assert.equal(getTwin(ctx, 1), null);
  assert.equal(getFarm(ctx, 1), null);
  assert.equal(farmIdByName(ctx, 'farm1'), null);
  assert.equal(getNode(ctx, 1), null);
  assert.equal(nodeIdOfTwin(ctx, 1), null);
  assert.deepEqual(nodesOfFarm(ctx, 1), []);
  assert.deepEqual(nodePower(ctx, 1), { state: 'Up', target: 'Up' });
  assert.deepEqual(termsAccepted(ctx, dev.alice), []);
  assert.equal(isFarmOwner(ctx, 1, dev.alice), false);
});

test('tfgrid queries: isFarmOwner follows the farm twin account', () => {
  const rt = makeRuntime();
  const id = farm(rt, dev.alice);
  assert.equal(isFarmOwner(rt.hooks(), id, dev.alice), true);
  assert.equal(isFarmOwner(rt.hooks(), id, dev.bob), false);
});

test('tfgrid queries: putFarm reserves an IP for a contract and keeps every other field (SmartContractModule path)', () => {
  const rt = makeRuntime();
  const id = farm(rt, dev.alice);
  const ctx = rt.hooks();
  const before = getFarm(ctx, id)!;
  putFarm(ctx, { ...before, publicIps: [{ ...before.publicIps[0]!, contractId: 2 ** 40 }] });
  assert.deepEqual(getFarm(ctx, id), { ...before, publicIps: [{ ip: PUBLIC_IP.ip, gateway: PUBLIC_IP.gw, contractId: 2 ** 40 }] });
});

test('tfgrid queries: UTF-8 location text survives storage, and power state round-trips', () => {
  const rt = makeRuntime();
  const id = node(rt, dev.bob, farm(rt, dev.alice), { location: { ...LOCATION, city: 'Zürich', country: 'Schweiz' } });
  const ctx = rt.hooks();
  assert.equal(getNode(ctx, id)?.location.city, 'Zürich');
  putNodePower(ctx, id, { state: { Down: 12 }, target: 'Down' });
  assert.deepEqual(nodePower(ctx, id), { state: { Down: 12 }, target: 'Down' });
});
