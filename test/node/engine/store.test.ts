import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { test } from 'node:test';
import { JobQueue } from '../../../node/engine/queue.ts';
import { EngineDb } from '../../../node/engine/store-db.ts';
import { DeploymentStore } from '../../../node/engine/store.ts';
import { ZosError } from '../../../node/errors.ts';
import { hashHex, parseDeployment, type Deployment, type Workload } from '../../../node/model/index.ts';
import { fixedClock, openDb, tempDbPath } from './engine-db.testing.ts';

const clock = fixedClock(1_700_000_000_500);
const NOW = 1_700_000_000;

function dl(twin: number, contract: number, workloads: { name: string; type: string; data: unknown }[]): Deployment {
  return parseDeployment({
    twin_id: twin,
    contract_id: contract,
    metadata: 'meta',
    signature_requirement: { requests: [{ twin_id: twin, required: true, weight: 1 }], weight_required: 1 },
    workloads,
  });
}

const disk = { name: 'disk', type: 'zmount', data: { size: 1024 } };
const net = (name = 'net') => ({ name, type: 'network', data: { ip_range: '10.1.0.0/16', subnet: '10.1.1.0/24', wireguard_private_key: 'k' } });

function withState(wl: Workload, state: Workload['result']['state'], message = '', data: unknown = null): Workload {
  return { ...wl, result: { created: NOW + 1, state, message, data } };
}

function setup(t: import('node:test').TestContext) {
  const path = tempDbPath(t);
  const db = openDb(t, path);
  return { path, db, store: new DeploymentStore(db, { clock }) };
}

test('store: a created deployment survives close and reopen with every workload init', async (t) => {
  const { path, db, store } = setup(t);
  store.create(dl(1, 10, [disk, net()]));
  await db.close();
  const again = new DeploymentStore(openDb(t, path), { clock });
  const got = again.get(1, 10);
  assert.equal(got.metadata, 'meta');
  assert.equal(got.expiration, 0);
  assert.deepEqual(got.signature_requirement.requests, [{ twin_id: 1, required: true, weight: 1 }]);
  assert.deepEqual(
    got.workloads.map((w) => [w.name, w.result.state, w.result.created]),
    [['disk', 'init', NOW], ['net', 'init', NOW]],
  );
  assert.deepEqual(got.workloads[0]!.data, { size: 1024 });
});

test('store: the current state is the last transaction that is not unchanged', (t) => {
  const { store } = setup(t);
  store.create(dl(1, 10, [disk]));
  const wl = store.current(1, 10, 'disk');
  store.appendState(1, 10, withState(wl, 'ok', '', { volume_id: '1-10-disk' }));
  store.appendState(1, 10, withState({ ...wl, data: { size: 2048 } }, 'unchanged', 'cannot shrink'));
  const cur = store.current(1, 10, 'disk');
  assert.equal(cur.result.state, 'ok');
  assert.deepEqual(cur.data, { size: 1024 });
  assert.deepEqual(cur.result.data, { volume_id: '1-10-disk' });
  assert.deepEqual(store.changes(1, 10).map((w) => w.result.state), ['init', 'ok', 'unchanged']);
});

test('store: a deleted state takes the workload out of the deployment but keeps the log', (t) => {
  const { store } = setup(t);
  store.create(dl(1, 10, [disk, net()]));
  store.appendState(1, 10, withState(store.current(1, 10, 'net'), 'deleted', 'removed'));
  assert.deepEqual(store.get(1, 10).workloads.map((w) => w.name), ['disk']);
  assert.equal(store.networkOwner(1, 'net'), undefined);
  assert.deepEqual(store.changes(1, 10).map((w) => `${w.name}:${w.result.state}`), ['disk:init', 'net:init', 'net:deleted']);
  // the name is free again for another deployment of the twin
  store.create(dl(1, 11, [net()]));
  assert.equal(store.networkOwner(1, 'net'), 11);
});

test('store: creating an existing deployment fails with exists and changes nothing', (t) => {
  const { store } = setup(t);
  store.create(dl(1, 10, [disk]));
  assert.throws(() => store.create(dl(1, 10, [net()])), (e) => ZosError.is(e, 'EXISTS') && e.message === 'exists');
  assert.deepEqual(store.get(1, 10).workloads.map((w) => w.name), ['disk']);
  assert.equal(store.networkOwner(1, 'net'), undefined);
});

test('store: a network name used by another deployment of the twin conflicts and nothing is written', (t) => {
  const { store } = setup(t);
  store.create(dl(1, 10, [net()]));
  assert.throws(
    () => store.create(dl(1, 11, [disk, net()])),
    (e) => ZosError.is(e, 'CONFLICT') && e.message === "global workload with the same name 'net' exists: conflict",
  );
  assert.equal(store.has(1, 11), false);
  assert.deepEqual(store.changes(1, 10).length, 1);
  store.create(dl(2, 11, [net()])); // other twins are independent
});

test('store: bad input is rejected without touching stored rows', (t) => {
  const { store } = setup(t);
  store.create(dl(1, 10, [disk]));
  const before = store.changes(1, 10);
  const wl = store.current(1, 10, 'disk');
  const cases: [string, () => void, RegExp][] = [
    ['zero created', () => store.appendState(1, 10, { ...wl, result: { ...wl.result, created: 0, state: 'ok' } }), /created time must be set/],
    ['empty state', () => store.appendState(1, 10, { ...wl, result: { ...wl.result, state: '' } }), /invalid result state/],
    ['wrong type', () => store.appendState(1, 10, withState({ ...wl, type: 'volume' }, 'ok')), /expecting 'zmount'/],
    ['unknown workload', () => store.appendState(1, 10, withState({ ...wl, name: 'nope' }, 'ok')), /workload does not exist/],
    ['unknown deployment', () => store.appendState(1, 99, withState(wl, 'ok')), /deployment not found/],
    ['malformed workload', () => store.appendState(1, 10, { ...wl, version: -1 } as Workload), /invalid workload/],
    ['malformed deployment', () => store.create({ twin_id: 'x' } as unknown as Deployment), /invalid deployment/],
  ];
  for (const [name, fn, re] of cases) assert.throws(fn, re, name);
  assert.deepEqual(store.changes(1, 10), before);
});

test('store: setError appends an error to every active workload', (t) => {
  const { store } = setup(t);
  store.create(dl(1, 10, [disk, net()]));
  store.setError(1, 10, 'contract hash does not match deployment hash');
  const wls = store.get(1, 10).workloads;
  assert.deepEqual(wls.map((w) => [w.result.state, w.result.message]), [
    ['error', 'contract hash does not match deployment hash'],
    ['error', 'contract hash does not match deployment hash'],
  ]);
});

test('store: header fields update and an unknown deployment is not found', (t) => {
  const { store } = setup(t);
  store.create(dl(1, 10, [disk]));
  store.update(1, 10, { version: 1, description: 'd2', signature_requirement: { requests: [], weight_required: 0, signatures: [], signature_style: 'polka-wallet' } });
  const got = store.get(1, 10);
  assert.equal(got.version, 1);
  assert.equal(got.description, 'd2');
  assert.equal(got.metadata, 'meta');
  assert.equal(got.signature_requirement.signature_style, 'polka-wallet');
  assert.throws(() => store.get(1, 11), (e) => ZosError.is(e, 'DEPLOYMENT_NOT_FOUND') && e.message === 'deployment not found');
  assert.throws(() => store.update(1, 11, { version: 2 }), /deployment not found/);
});

test('store: listActive skips deployments whose workloads are all deleted or error', (t) => {
  const { store } = setup(t);
  store.create(dl(1, 10, [disk]));
  store.create(dl(1, 11, [disk]));
  store.create(dl(2, 12, [disk]));
  store.setError(1, 11, 'boom');
  assert.deepEqual(store.listActive().map((d) => d.contract_id), [10, 12]);
  assert.deepEqual(store.listActive(1).map((d) => d.contract_id), [10]);
  assert.deepEqual(store.twins(), [1, 2]);
  assert.deepEqual(store.byTwin(1), [10, 11]);
});

test('store: cleanDeleted drops deployments without ok/paused workloads unless a job is queued', (t) => {
  const { db, store } = setup(t);
  const queue = new JobQueue(db, { clock });
  store.create(dl(1, 10, [disk]));
  store.appendState(1, 10, withState(store.current(1, 10, 'disk'), 'ok'));
  store.create(dl(1, 11, [disk]));
  store.setError(1, 11, 'failed');
  store.create(dl(1, 12, [disk]));
  queue.enqueue({ op: 'provision', twin: 1, contract: 12 });
  assert.deepEqual(store.cleanDeleted(), [{ twin: 1, contract: 11 }]);
  assert.deepEqual(store.byTwin(1), [10, 12]);
});

test('store: usedCapacity sums ok and paused workloads only', (t) => {
  const { store } = setup(t);
  store.create(dl(1, 10, [disk, { name: 'vol', type: 'volume', data: { size: 10 } }, { name: 'db', type: 'zdb', data: { size: 7, mode: 'user' } }]));
  store.appendState(1, 10, withState(store.current(1, 10, 'disk'), 'ok'));
  store.appendState(1, 10, withState(store.current(1, 10, 'db'), 'paused'));
  assert.deepEqual(store.usedCapacity(), { cru: 0, mru: 0, sru: 1024, hru: 7, ipv4u: 0 });
  assert.deepEqual(store.usedCapacity({ except: { twin: 1, contract: 10, name: 'disk' } }), { cru: 0, mru: 0, sru: 0, hru: 7, ipv4u: 0 });
  assert.deepEqual(store.usedCapacity({ of: { twin: 1, contract: 10 } }), { cru: 0, mru: 0, sru: 1024, hru: 7, ipv4u: 0 });
  assert.deepEqual(store.usedCapacity({ of: { twin: 1, contract: 11 } }), { cru: 0, mru: 0, sru: 0, hru: 0, ipv4u: 0 });
});

test('store: two handles on one file see each other and a racing create yields exists', (t) => {
  const path = tempDbPath(t);
  const a = new DeploymentStore(openDb(t, path), { clock });
  const b = new DeploymentStore(openDb(t, path), { clock });
  a.create(dl(1, 10, [disk]));
  assert.equal(b.get(1, 10).workloads.length, 1);
  assert.throws(() => b.create(dl(1, 10, [disk])), /exists/);
  b.appendState(1, 10, withState(b.current(1, 10, 'disk'), 'ok'));
  assert.equal(a.current(1, 10, 'disk').result.state, 'ok');
});

test('store: use after close fails with CLOSED and close is idempotent', async (t) => {
  const { db, store } = setup(t);
  await db.close();
  await db.close();
  assert.throws(() => store.get(1, 1), (e) => ZosError.is(e, 'CLOSED'));
});

test('store: opening a non-database file fails with a store error', (t) => {
  const path = tempDbPath(t);
  writeFileSync(path, 'this is not sqlite'.repeat(100));
  assert.throws(() => EngineDb.open(path), (e) => ZosError.is(e));
});

test('store: the deployment keeps its workloads in signed order and its expiration, so its hash can be checked from the store', (t) => {
  const { store } = setup(t);
  const signed = { ...dl(1, 10, [net('zeta'), disk, net('alpha')]), expiration: 1234 };
  store.create(signed);
  assert.deepEqual(store.get(1, 10).workloads.map((w) => w.name), ['zeta', 'disk', 'alpha']);
  assert.equal(store.get(1, 10).expiration, 0, 'answers show 0, as zos');
  assert.equal(hashHex(store.signed(1, 10)), hashHex(signed));
  // an update adds a workload at the end, then records the new signed order
  store.add(1, 10, { ...disk, name: 'extra', version: 0, metadata: '', description: '', result: { created: 0, state: '', message: '', data: null } });
  assert.deepEqual(store.get(1, 10).workloads.map((w) => w.name), ['zeta', 'disk', 'alpha', 'extra']);
  store.reorder(1, 10, ['extra', 'alpha', 'disk', 'zeta']);
  assert.deepEqual(store.get(1, 10).workloads.map((w) => w.name), ['extra', 'alpha', 'disk', 'zeta']);
});

test('store: a schema 1 database opens as schema 2 (workload positions, expiration) with its rows', (t) => {
  const path = tempDbPath(t);
  const raw = new Database(path);
  raw.exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
    INSERT INTO meta VALUES ('schema', '1');
    CREATE TABLE deployments (twin INTEGER NOT NULL, contract INTEGER NOT NULL, version INTEGER NOT NULL, metadata TEXT NOT NULL,
      description TEXT NOT NULL, signature_requirement TEXT NOT NULL, PRIMARY KEY (twin, contract)) STRICT;
    CREATE TABLE workloads (twin INTEGER NOT NULL, contract INTEGER NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL,
      PRIMARY KEY (twin, contract, name)) STRICT;`);
  raw.prepare('INSERT INTO deployments VALUES (1, 10, 0, ?, ?, ?)').run('', '', JSON.stringify({ requests: [], weight_required: 0, signatures: [], signature_style: '' }));
  raw.close();
  const store = new DeploymentStore(openDb(t, path), { clock });
  assert.equal(store.signed(1, 10).expiration, 0);
  store.add(1, 10, { ...disk, version: 0, metadata: '', description: '', result: { created: 0, state: '', message: '', data: null } });
  assert.deepEqual(store.get(1, 10).workloads.map((w) => w.name), ['disk']);
});
