// The deploy-then-update race (issue #14): the owner updates the contract to the next version's
// hash before the node has checked the first version. That check then fails on the hash; the
// update must still bring the deployment up, provisioning (not updating) the workloads that never
// came up, whether the update was queued before that check or arrived after it. And the update
// racing a cancel: an update that finds its contract gone releases the deployment, and the
// contract sync deprovisions a deployment whose contract is gone even with a job pending for it.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Keyring } from '@polkadot/keyring';
import { silentLogger } from '../../../lib/log.ts';
import { ContractEvents } from '../../../node/engine/contract-events.ts';
import { sign, type Deployment } from '../../../node/model/index.ts';
import type { PrimitiveOf } from '../../../node/primitives/types.ts';
import { deployment, GiB, NODE, setup, tablePrimitive, TWIN } from './engine.testing.ts';

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

/** raceSetup with v0 deployed and checked against a contract holding `onContract`'s hash. */
async function deployedV0(t: TestContext, onContract: Deployment = v0) {
  const g = raceSetup(t);
  g.contract(1, onContract);
  g.engine.start();
  await g.api.deploy(TWIN, v0);
  await g.settled();
  return g;
}

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
  const g = await deployedV0(t, v1);
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

// An update racing a cancel: the contract is gone (tfchain removes a cancelled contract) when the
// update runs, and its cancel event was missed (a chain restart's gap) or is still to come.
test('update race: an update that finds its contract gone releases the deployment instead of keeping it running', async (t) => {
  const g = await deployedV0(t);
  g.chain.contracts.delete(1);
  await g.api.update(TWIN, v1);
  await g.settled();
  assert.deepEqual([...g.objects], [], 'nothing left on the host');
  assert.deepEqual(g.store.get(TWIN, 1).workloads, [], 'every workload deleted');
  assert.deepEqual(g.store.changes(TWIN, 1).slice(-2).map((w) => [w.name, w.result.state, w.result.message]), [
    ['b', 'deleted', 'failed to get deployment contract: contract 1 not found'],
    ['a', 'deleted', 'failed to get deployment contract: contract 1 not found'],
  ]);
});

test('contract sync: a deployment whose contract is gone is deprovisioned even with a job pending for it, after that job', async (t) => {
  const g = await deployedV0(t);
  await g.engine.close();
  g.queue.enqueue({ op: 'pause', twin: TWIN, contract: 1 }); // e.g. its grace period began, then it was cancelled
  g.chain.contracts.delete(1);
  const events = new ContractEvents(g.store, g.queue, g.chain, NODE, silentLogger());
  assert.deepEqual(await events.sync(), { deprovisioned: 1, paused: 0, resumed: 0 });
  assert.deepEqual(g.queue.list().map((j) => j.op), ['pause', 'deprovision']);
  assert.deepEqual(await events.sync(), { deprovisioned: 0, paused: 0, resumed: 0 }, 'queued once');
  g.engineWith({ volume: hostLike(g.objects, g.calls, g.failing) }).engine.start();
  await g.settled();
  assert.deepEqual([...g.objects], []);
});

test('contract sync: a deployment whose contract the active list lacks but the chain has (it came after the list was read) is left alone', async (t) => {
  const g = await deployedV0(t);
  g.chain.activeNodeContracts = async () => [];
  assert.deepEqual(await new ContractEvents(g.store, g.queue, g.chain, NODE, silentLogger()).sync(), { deprovisioned: 0, paused: 0, resumed: 0 });
  assert.equal(g.queue.size(), 0);
});

test('update race: a node restart between the failed first check and the update keeps the deployment for the update to bring up', async (t) => {
  const g = await deployedV0(t, v1);
  assert.deepEqual(g.states(1), { a: 'error', b: 'error' }, 'the first version alone does not match the contract');
  await g.engine.close(); // the node restarts
  const restarted = g.engineWith({ volume: hostLike(g.objects, g.calls, g.failing) }).engine;
  assert.deepEqual(await restarted.recover(), { removed: 0, replayed: 0 }, 'rows in error are kept for the retention, not dropped at boot');
  restarted.start();
  await g.api.update(TWIN, v1);
  await g.settled();
  assert.deepEqual(g.versions(1), { a: 'ok@1', b: 'ok@0' });
  assert.deepEqual([...g.objects].sort(), grown);
});
