// The deploy-then-update race (issue #14): the owner updates the contract to the next version's
// hash before the node has checked the first version. That check then fails on the hash; the
// update must still bring the deployment up, provisioning (not updating) the workloads that never
// came up, whether the update was queued before that check or arrived after it.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Keyring } from '@polkadot/keyring';
import { sign, type Deployment } from '../../../node/model/index.ts';
import type { PrimitiveOf } from '../../../node/primitives/types.ts';
import { deployment, GiB, setup, tablePrimitive, TWIN } from './engine.testing.ts';

const owner = new Keyring({ type: 'sr25519' }).addFromUri('//Bob'); // TWIN's key in the chain table

/**
 * The table primitive as a host behaves: an update needs the object to exist (a zmount's file, a
 * volume's subvolume), and provisioning a name in `failing` fails.
 */
function hostLike(objects: Map<string, number>, calls: string[], failing: Set<string>): PrimitiveOf<'volume'> {
  const p = tablePrimitive(objects, calls);
  return {
    ...p,
    async provision(ctx, c) {
      if (failing.has(ctx.workload.name)) throw new Error(`no room for ${ctx.workload.name}`);
      return p.provision(ctx, c);
    },
    async update(ctx, c, prev) {
      if (!objects.has(ctx.workload.id)) throw new Error(`volume ${ctx.workload.id} not found`);
      return p.update!(ctx, c, prev);
    },
  };
}

function raceSetup(t: TestContext) {
  const objects = new Map<string, number>();
  const calls: string[] = [];
  const failing = new Set<string>();
  const g = setup(t, 64 * GiB, { volume: hostLike(objects, calls, failing) });
  const versions = (id: number) => Object.fromEntries(g.store.get(TWIN, id).workloads.map((w) => [w.name, `${w.result.state}@${w.version}`]));
  return { ...g, objects, calls, failing, versions };
}

const v0 = deployment(1, 0, { a: GiB, b: GiB });
/** Version 1: `a` grows to 2 GiB, `b` is left as it is (still at version 0), as grid_client sends it. */
const v1: Deployment = (() => {
  const dl = deployment(1, 1, { a: 2 * GiB, b: GiB });
  return sign({ ...dl, workloads: dl.workloads.map((w) => (w.name === 'b' ? { ...w, version: 0 } : w)) }, TWIN, owner);
})();
const grown = [[`${TWIN}-1-a`, 2 * GiB], [`${TWIN}-1-b`, GiB]];

test('update race: an update queued before the first version was checked provisions every workload, none is updated', async (t) => {
  const g = raceSetup(t);
  g.contract(1, v1); // the contract already holds v1's hash when the node first looks
  await g.api.deploy(TWIN, v0);
  await g.api.update(TWIN, v1);
  g.engine.start();
  await g.settled();
  assert.deepEqual(g.versions(1), { a: 'ok@1', b: 'ok@0' });
  assert.deepEqual([...g.objects].sort(), grown);
  assert.deepEqual(g.calls.sort(), ['provision a', 'provision b']);
  assert.deepEqual(g.queue.parked(), []);
});

test('update race: an update that arrives after the first version failed its hash check brings the deployment up', async (t) => {
  const g = raceSetup(t);
  g.contract(1, v1);
  g.engine.start();
  await g.api.deploy(TWIN, v0);
  await g.settled();
  assert.deepEqual(g.states(1), { a: 'error', b: 'error' }, 'the first version alone does not match the contract');
  await g.api.update(TWIN, v1);
  await g.settled();
  assert.deepEqual(g.versions(1), { a: 'ok@1', b: 'ok@0' });
  assert.deepEqual([...g.objects].sort(), grown);
  assert.deepEqual(g.calls.sort(), ['provision a', 'provision b']);
});

test('update race: a queued update whose hash is not on the contract either leaves the deployment in error, holding nothing', async (t) => {
  const g = raceSetup(t);
  g.contract(1, deployment(1, 1, { a: 3 * GiB })); // neither v0 nor v1
  await g.api.deploy(TWIN, v0);
  await g.api.update(TWIN, v1);
  g.engine.start();
  await g.settled();
  const wls = g.store.get(TWIN, 1).workloads;
  assert.deepEqual(wls.map((w) => [w.name, w.result.state, w.result.message]), [
    ['a', 'error', 'contract hash does not match deployment hash'],
    ['b', 'error', 'contract hash does not match deployment hash'],
  ]);
  assert.deepEqual([...g.objects], []);
  assert.deepEqual(g.calls, []);
});

test('update: a running workload is updated in place, a kept workload that failed to come up is provisioned again', async (t) => {
  const g = raceSetup(t);
  g.contract(1, v0);
  g.failing.add('b');
  g.engine.start();
  await g.api.deploy(TWIN, v0);
  await g.settled();
  assert.deepEqual(g.states(1), { a: 'ok', b: 'error' });
  g.failing.clear();
  g.contract(1, v1);
  await g.api.update(TWIN, v1);
  await g.settled();
  assert.deepEqual(g.versions(1), { a: 'ok@1', b: 'ok@0' });
  assert.deepEqual([...g.objects].sort(), grown);
  assert.deepEqual(g.calls, ['provision a', 'provision b', 'update a']);
});
