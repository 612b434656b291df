import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Deployments } from '../../../node/api/deployments.ts';
import { routes } from '../../../node/api/routes.ts';
import type { ApiServices } from '../../../node/api/services.ts';
import type { JobQueue } from '../../../node/engine/queue.ts';
import { DeploymentStore } from '../../../node/engine/store.ts';
import { parseDeployment, type Workload } from '../../../node/model/index.ts';
import { JsonBytes, Router } from '../../../relay-client/router.ts';
import { fixedClock, openDb, tempDbPath } from '../engine/engine-db.testing.ts';

/**
 * zos.deployment.get answers are kept encoded while the store is unchanged: every write shows
 * in the next answer, a write rolled back never shows, and the router sends the bytes as they are.
 */
function setup(t: import('node:test').TestContext) {
  const db = openDb(t, tempDbPath(t));
  const store = new DeploymentStore(db, { clock: fixedClock(1_700_000_000_500) });
  store.create(parseDeployment({
    twin_id: 1, contract_id: 10, metadata: 'meta',
    signature_requirement: { requests: [{ twin_id: 1, required: true, weight: 1 }], weight_required: 1 },
    workloads: [{ name: 'disk', type: 'zmount', data: { size: 1024 } }],
  }));
  const api = new Deployments({ db, store, queue: {} as JobQueue, chain: { twinAccountId: async () => null }, provisions: () => true });
  const decode = (a: JsonBytes) => JSON.parse(new TextDecoder().decode(a.bytes)) as { workloads: Workload[] };
  const state = async () => decode(await api.get(1, 10)).workloads[0]!.result.state;
  const ok = (wl: Workload): Workload => ({ ...wl, result: { created: 1_700_000_001, state: 'ok', message: '', data: null } });
  return { db, store, api, state, ok };
}

test('deployment.get: the answer is the stored deployment, kept encoded until the store changes', async (t) => {
  const { store, api, state, ok } = setup(t);
  const first = await api.get(1, 10);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(first.bytes)), store.get(1, 10));
  assert.equal(await api.get(1, 10), first, 'an unchanged store answers from what was encoded');
  store.appendState(1, 10, ok(store.get(1, 10).workloads[0]!));
  assert.equal(await state(), 'ok', 'a write shows in the next answer');
  store.update(1, 10, { description: 'changed' });
  assert.equal(JSON.parse(new TextDecoder().decode((await api.get(1, 10)).bytes)).description, 'changed');
  await assert.rejects(api.get(1, 11), /deployment not found/);
  await assert.rejects(api.get(2, 10), /deployment not found/, 'another twin does not see it');
});

test('deployment.get: an answer read inside a transaction that rolls back is not kept', async (t) => {
  const { db, store, api, state, ok } = setup(t);
  assert.equal(await state(), 'init');
  assert.throws(() =>
    db.transaction(() => {
      store.appendState(1, 10, ok(store.get(1, 10).workloads[0]!));
      void api.get(1, 10); // runs to its end synchronously, inside the transaction
      throw new Error('roll back');
    }),
  /roll back/);
  assert.equal(await state(), 'init');
});

test('deployment.get through the router: the kept bytes are the reply as they are', async (t) => {
  const { api } = setup(t);
  const router = new Router();
  router.handle('zos.deployment.get', routes({ deployments: api } as unknown as ApiServices)['zos.deployment.get']!);
  const payload = new TextEncoder().encode(JSON.stringify({ contract_id: 10 }));
  const got = await router.dispatch(payload, { twin: 1, uid: 'u', command: 'zos.deployment.get' });
  assert.ok(got.ok);
  assert.equal(got.json, (await api.get(1, 10)).bytes);
  const missing = await router.dispatch(new TextEncoder().encode('{"contract_id":11}'), { twin: 1, uid: 'v', command: 'zos.deployment.get' });
  assert.deepEqual(missing, { ok: false, code: 0, message: 'deployment not found' });
});

test('routes: only commands that read the node state are readOnly (may run before their signature is checked)', () => {
  const table = routes({} as unknown as ApiServices);
  const router = new Router();
  for (const [command, handler] of Object.entries(table)) router.handle(command, handler);
  const readOnly = Object.keys(table).filter((c) => router.isReadOnly(c)).sort();
  assert.deepEqual(readOnly, [
    'zos.deployment.changes', 'zos.deployment.get', 'zos.deployment.list',
    'zos.network.has_ipv6', 'zos.network.list_private_ips', 'zos.network.list_public_ips', 'zos.network.list_wg_ports', 'zos.network.public_config_get',
    'zos.perf.get', 'zos.perf.get_all', 'zos.statistics.get', 'zos.storage.pools', 'zos.system.node_features_get', 'zos.system.version',
  ]);
  for (const c of ['zos.deployment.deploy', 'zos.deployment.update', 'zos.admin.set_public_nic', 'zos.debug.deployment.get', 'zos.system.diagnostics']) {
    assert.equal(router.isReadOnly(c), false, c);
  }
});
