import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../../lib/log.ts';
import { ContractEvents } from '../../../node/engine/contract-events.ts';
import { ZosError } from '../../../node/errors.ts';
import { deploymentView } from '../../../node/engine/view.ts';
import type { PrimitiveOf } from '../../../node/primitives/types.ts';
import { deployedOne, deployment, GiB, NODE, setup, tablePrimitive, TWIN } from './engine.testing.ts';

test('engine: update adds, removes and updates workloads by name and version', async (t) => {
  const g = setup(t);
  const v0 = deployment(1, 0, { a: GiB, b: GiB });
  g.contract(1, v0);
  g.engine.start();
  await g.api.deploy(TWIN, v0);
  await g.settled();
  assert.deepEqual(g.states(1), { a: 'ok', b: 'ok' });
  const v1 = deployment(1, 1, { a: 2 * GiB, c: GiB }); // a updated, b removed, c added
  g.contract(1, v1);
  await g.api.update(TWIN, v1);
  await g.settled();
  assert.deepEqual(g.states(1), { a: 'ok', c: 'ok' });
  assert.deepEqual([...g.objects].sort(), [[`${TWIN}-1-a`, 2 * GiB], [`${TWIN}-1-c`, GiB]]);
  assert.deepEqual(g.calls.slice(2), ['deprovision b', 'provision c', 'update a']);
});

test('engine: an update whose hash is not on the contract changes nothing: the deployment keeps its version and its workloads run on', async (t) => {
  const g = setup(t);
  const v0 = deployment(2, 0, { a: GiB });
  g.contract(2, v0);
  g.engine.start();
  await g.api.deploy(TWIN, v0);
  await g.settled();
  const v1 = deployment(2, 1, { a: 3 * GiB });
  await g.api.update(TWIN, v1); // contract still holds v0's hash
  await g.settled();
  // Before, every workload turned `error` while its host object stayed: the next boot dropped
  // the rows and the object was left behind with nothing tracking it.
  assert.deepEqual(g.states(2), { a: 'ok' });
  assert.equal(g.store.get(TWIN, 2).version, 0);
  const last = g.store.changes(TWIN, 2).at(-1)!;
  assert.deepEqual([last.result.state, last.result.message], ['unchanged', 'contract hash does not match deployment hash']);
  assert.equal(g.objects.get(`${TWIN}-2-a`), GiB);
  // the owner fixes the contract and sends the same update again
  g.contract(2, v1);
  await g.api.update(TWIN, v1);
  await g.settled();
  assert.equal(g.objects.get(`${TWIN}-2-a`), 3 * GiB);
  assert.equal(g.store.get(TWIN, 2).version, 1);
});

test('engine: a contract of another node is refused with zos text', async (t) => {
  const g = setup(t);
  const v0 = deployment(3, 0, { a: GiB });
  g.contract(3, v0);
  g.chain.contracts.get(3)!.nodeId = NODE + 1;
  g.engine.start();
  await g.api.deploy(TWIN, v0);
  await g.settled();
  assert.deepEqual(g.states(3), { a: 'error' });
  assert.equal(g.store.get(TWIN, 3).workloads[0]!.result.message, 'invalid node address in contract');
  assert.equal(g.objects.size, 0);
});

test('engine: grace period pauses, its end resumes, cancel deprovisions (events and sync)', async (t) => {
  const g = setup(t);
  const v0 = deployment(4, 0, { a: GiB });
  g.contract(4, v0);
  g.engine.start();
  await g.api.deploy(TWIN, v0);
  await g.settled();
  const events = new ContractEvents(g.store, g.queue, g.chain, NODE, silentLogger());
  events.handle({ kind: 'grace-started', contractId: 4, nodeId: NODE, twinId: TWIN });
  await g.settled();
  assert.deepEqual(g.states(4), { a: 'paused' });
  events.handle({ kind: 'grace-ended', contractId: 4, nodeId: NODE, twinId: TWIN });
  await g.settled();
  assert.deepEqual(g.states(4), { a: 'ok' });
  // a missed grace event is caught by the periodic sync
  g.chain.contracts.get(4)!.state = 'GracePeriod';
  assert.deepEqual(await events.sync(), { deprovisioned: 0, paused: 1, resumed: 0 });
  await g.settled();
  assert.deepEqual(g.states(4), { a: 'paused' });
  // a contract gone from the chain is deprovisioned by the sync
  g.chain.contracts.delete(4);
  assert.deepEqual(await events.sync(), { deprovisioned: 1, paused: 0, resumed: 0 });
  await g.settled();
  assert.deepEqual(g.store.get(TWIN, 4).workloads, []);
  assert.equal(g.store.changes(TWIN, 4).at(-1)!.result.message, 'contract not active on chain');
  assert.equal(g.objects.size, 0);
});

test('engine: a chain outage keeps the job and retries it; nothing is marked error', async (t) => {
  const g = setup(t);
  const v0 = deployment(5, 0, { a: GiB });
  g.contract(5, v0);
  g.chain.down = true;
  g.engine.start();
  await g.api.deploy(TWIN, v0);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(g.queue.size(), 1, 'job still queued while the chain is down');
  assert.deepEqual(g.states(5), { a: 'init' });
  g.chain.down = false;
  await g.settled();
  assert.deepEqual(g.states(5), { a: 'ok' });
});

test('engine: admission refuses a workload that does not fit on disk', async (t) => {
  const g = setup(t);
  const big = deployment(6, 0, { huge: 200 * GiB });
  g.contract(6, big);
  g.engine.start();
  await g.api.deploy(TWIN, big);
  await g.settled();
  assert.deepEqual(g.states(6), { huge: 'error' });
  assert.match(g.store.get(TWIN, 6).workloads[0]!.result.message, /cannot fulfil required storage size/);
  assert.equal(g.objects.size, 0);
});

test('engine: after a restart stored deployments are replayed without losing pending jobs', async (t) => {
  const g = setup(t);
  const v0 = deployment(7, 0, { a: GiB });
  g.contract(7, v0);
  await g.api.deploy(TWIN, v0); // engine not started: job pending
  assert.equal(g.engine.replayStored(), 0, 'a deployment with a pending job is not replayed twice');
  g.engine.start();
  await g.settled();
  g.objects.clear(); // the host lost everything (reboot)
  assert.equal(g.engine.replayStored(), 1);
  await g.settled();
  assert.equal(g.objects.get(`${TWIN}-7-a`), GiB);
  assert.deepEqual(g.states(7), { a: 'ok' });
});

test('engine: the hash is checked on the deployment as signed, whatever the order of its workloads', async (t) => {
  const g = setup(t);
  const dl = deployment(8, 0, { zeta: GiB, alpha: GiB }); // not in name order: the store sorts by name
  g.contract(8, dl);
  g.engine.start();
  await g.api.deploy(TWIN, dl);
  await g.settled();
  assert.deepEqual(g.states(8), { alpha: 'ok', zeta: 'ok' });
});

test('engine: a workload type the node does not provision is refused at deploy, naming each workload', async (t) => {
  const g = setup(t);
  assert.deepEqual(g.provisioner.types(), ['volume']);
  const dl = deployment(9, 0, { a: GiB, 'zmount:d': GiB, 'zmount:e': GiB });
  g.contract(9, dl);
  await assert.rejects(g.api.deploy(TWIN, dl), (err: ZosError) => {
    assert.equal(err.code, 'UNSUPPORTED_WORKLOAD');
    assert.equal(err.message, "workload 'd': type 'zmount' is not provisioned by this node; workload 'e': type 'zmount' is not provisioned by this node");
    return true;
  });
  assert.equal(g.store.has(TWIN, 9), false, 'nothing stored');
  assert.equal(g.queue.size(), 0, 'nothing queued');
});

test('engine: a primitive reads the results of the workloads installed before it in its deployment', async (t) => {
  const seen: unknown[] = [];
  const zmount: PrimitiveOf<'zmount'> = {
    async provision(ctx) {
      // installOrder puts every zmount before the volumes: the view shows none of them done yet
      seen.push(ctx.deployment.byType('volume').map((w) => [w.workload.name, w.state, w.result]));
      return { volume_id: ctx.workload.id };
    },
    async deprovision() {},
  };
  const g = setup(t, 64 * GiB, { zmount });
  assert.deepEqual(g.provisioner.types(), ['zmount', 'volume']);
  const dl = deployment(10, 0, { 'zmount:disk': GiB, v: GiB });
  g.contract(10, dl);
  g.engine.start();
  await g.api.deploy(TWIN, dl);
  await g.settled();
  assert.deepEqual(seen, [[['v', 'init', null]]]);
  const view = deploymentView(g.store, { twin: TWIN, contract: 10 });
  const disk = view.get('disk');
  assert.equal(disk?.type, 'zmount');
  assert.deepEqual(disk?.type === 'zmount' && disk.result, { volume_id: `${TWIN}-10-disk` });
  assert.deepEqual(disk?.data, { size: GiB });
  assert.deepEqual(view.byType('volume').map((w) => w.result), [{ id: `${TWIN}-10-v` }]);
  assert.equal(view.network('nonet'), undefined);
});

test('engine: recover() runs each init once, with the workloads that hold resources, before the replay', async (t) => {
  const order: string[] = [];
  const adopted: string[][] = [];
  const zmount: PrimitiveOf<'zmount'> = {
    async init(ctx) {
      order.push('init');
      adopted.push(ctx.workloads.map((w) => `${w.workload.id}:${w.data.size}:${w.state}`));
    },
    async provision(ctx) {
      order.push(`provision ${ctx.workload.name}`);
      return { volume_id: ctx.workload.id };
    },
    async deprovision() {},
  };
  const g = setup(t, 64 * GiB, { zmount });
  const dl = deployment(11, 0, { 'zmount:disk': GiB, v: GiB });
  g.contract(11, dl);
  await g.api.deploy(TWIN, dl);
  g.engine.start();
  await g.settled();
  order.length = 0;
  assert.deepEqual(await g.engine.recover(), { removed: 0, replayed: 1 });
  await g.settled();
  assert.deepEqual(order, ['init', 'provision disk']);
  assert.deepEqual(adopted, [[`${TWIN}-11-disk:${GiB}:ok`]]);
});

test('engine: a job that can never succeed is parked with its error and does not block the queue behind it', async (t) => {
  const g = await deployedOne(t, 30, { a: GiB });
  // A stored job whose payload no longer decodes (e.g. written by an older version): before,
  // the worker retried it forever and every deployment queued behind it waited with it.
  g.queue.enqueue({ op: 'update', twin: TWIN, contract: 30, payload: { version: 'garbage' } });
  const b = deployment(31, 0, { b: GiB });
  g.contract(31, b);
  await g.api.deploy(TWIN, b);
  await g.settled();
  assert.deepEqual(g.states(31), { b: 'ok' });
  const parked = g.queue.parked();
  assert.equal(parked.length, 1);
  assert.equal(parked[0]!.contract, 30);
  assert.match(parked[0]!.error, /invalid deployment/);
  // an update that could not run leaves what runs as it was; its log says why
  assert.deepEqual(g.states(30), { a: 'ok' });
  assert.match(g.store.changes(TWIN, 30).at(-1)!.result.message, /^job failed: invalid deployment/);
});

test('engine: an update passes the same capacity admission as a create; a workload that does not fit keeps its old size', async (t) => {
  const g = await deployedOne(t, 32, { a: GiB });
  const v1 = deployment(32, 1, { a: 200 * GiB }); // the node has 100 GiB of disk
  g.contract(32, v1);
  await g.api.update(TWIN, v1);
  await g.settled();
  // Before, the update skipped admission and grew the disk past what the node has.
  assert.equal(g.objects.get(`${TWIN}-32-a`), GiB);
  // as after a failed primitive update: `unchanged` with the reason, the workload still holds its object
  assert.deepEqual(g.states(32), { a: 'ok' });
  const last = g.store.changes(TWIN, 32).at(-1)!;
  assert.equal(last.result.state, 'unchanged');
  assert.match(last.result.message, /cannot fulfil required storage size/);
  const v2 = deployment(32, 2, { a: 50 * GiB }); // what fits still goes through
  g.contract(32, v2);
  await g.api.update(TWIN, v2);
  await g.settled();
  assert.equal(g.objects.get(`${TWIN}-32-a`), 50 * GiB);
  assert.deepEqual(g.states(32), { a: 'ok' });
});

test('engine: rows of a deployment whose contract check failed are dropped once idle for the retention; held ones stay', async (t) => {
  const g = setup(t);
  const good = deployment(50, 0, { a: GiB });
  g.contract(50, good);
  const bad = deployment(51, 0, { a: GiB }); // no contract on chain
  g.engine.start();
  await g.api.deploy(TWIN, good);
  await g.api.deploy(TWIN, bad);
  await g.settled();
  assert.deepEqual(g.states(51), { a: 'error' });
  const sweeper = g.engineWith({}).engine; // not started: sweep() by hand
  assert.deepEqual(sweeper.sweep(), [], 'kept for its owner to read within the retention (1 h)');
  assert.deepEqual(g.engineWith({}, { retainSec: 0 }).engine.sweep(), [{ twin: TWIN, contract: 51 }]);
  assert.equal(g.store.has(TWIN, 51), false);
  assert.deepEqual(g.states(50), { a: 'ok' });
});

test('engine: a replay whose contract is gone releases what the deployment holds instead of marking it error over its host objects', async (t) => {
  const g = await deployedOne(t, 52, { a: GiB, b: GiB });
  g.chain.contracts.delete(52); // cancelled while the node was down
  assert.equal(g.engine.replayStored(), 1);
  await g.settled();
  // Before, the workloads turned `error` with their objects still on the host; the next boot
  // dropped the rows and nothing tracked the objects any more.
  assert.equal(g.objects.size, 0);
  assert.deepEqual(g.store.get(TWIN, 52).workloads, []);
  assert.match(g.store.changes(TWIN, 52).at(-1)!.result.message, /contract 52 not found/);
});

test('engine: primitive errors on provision, update and deprovision become the workload results (zos texts), never stop the job nor the queue', async (t) => {
  const objects = new Map<string, number>();
  const inner = tablePrimitive(objects, []);
  const failing = new Set<string>();
  const fail = (op: string, name: string) => {
    if (failing.has(`${op} ${name}`)) throw new Error(`${op} of ${name} failed on the host`);
  };
  const volume: PrimitiveOf<'volume'> = {
    provision: async (ctx, c) => (fail('provision', ctx.workload.name), inner.provision(ctx, c)),
    update: async (ctx, c, p) => (fail('update', ctx.workload.name), inner.update!(ctx, c, p)),
    deprovision: async (ctx, c) => (fail('deprovision', ctx.workload.name), inner.deprovision(ctx, c)),
  };
  const g = setup(t);
  const engine = g.engineWith({ volume }).engine;
  engine.start();
  failing.add('provision b');
  const v0 = deployment(60, 0, { a: GiB, b: GiB, c: GiB });
  g.contract(60, v0);
  await g.api.deploy(TWIN, v0);
  await g.settled();
  assert.deepEqual(g.states(60), { a: 'ok', b: 'error', c: 'ok' }, 'the one failure does not stop the others');
  assert.equal(g.store.get(TWIN, 60).workloads[1]!.result.message, 'provision of b failed on the host');

  failing.add('update a');
  const v1 = deployment(60, 1, { a: 2 * GiB, c: 2 * GiB });
  g.contract(60, v1);
  await g.api.update(TWIN, v1);
  await g.settled();
  assert.deepEqual(g.states(60), { a: 'ok', c: 'ok' });
  assert.equal(objects.get(`${TWIN}-60-a`), GiB, 'a failed update keeps the old object');
  assert.equal(objects.get(`${TWIN}-60-c`), 2 * GiB);
  const lastA = g.store.changes(TWIN, 60).filter((w) => w.name === 'a').at(-1)!;
  assert.deepEqual([lastA.result.state, lastA.result.message], ['unchanged', 'update of a failed on the host']);

  failing.add('deprovision c');
  const events = new ContractEvents(g.store, g.queue, g.chain, NODE, silentLogger());
  events.handle({ kind: 'contract-canceled', contractId: 60, nodeId: NODE, twinId: TWIN });
  const other = deployment(61, 0, { z: GiB });
  g.contract(61, other);
  await g.api.deploy(TWIN, other);
  await g.settled();
  assert.deepEqual(g.states(60), { c: 'error' }, 'a failed deprovision says so and keeps the workload listed');
  assert.equal(g.store.get(TWIN, 60).workloads[0]!.result.message, 'deprovision of c failed on the host');
  assert.equal(objects.has(`${TWIN}-60-a`), false, 'the others were removed');
  assert.deepEqual(g.states(61), { z: 'ok' }, 'the queue behind it ran');
  assert.deepEqual(g.queue.parked(), []);
});
