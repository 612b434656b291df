// zos.debug.deployment.* against the deployment store's own records, with zos' texts and shapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDeployment, type Workload } from '../../../node/model/index.ts';
import { parseDeploymentRef } from '../../../node/api/debug.ts';
import { apiFixture } from './api-fixture.ts';

const ADMIN = 99;

function seeded(t: import('node:test').TestContext) {
  const api = apiFixture(t, { adminTwins: [ADMIN] });
  const dl = (twin: number, contract: number, names: string[]) =>
    parseDeployment({
      twin_id: twin, contract_id: contract,
      signature_requirement: { requests: [{ twin_id: twin, required: true, weight: 1 }], weight_required: 1 },
      workloads: names.map((name) => ({ name, type: 'zmount', data: { size: 1024 } })),
    });
  api.store.create(dl(1, 10, ['disk']));
  api.store.create(dl(2, 20, ['a', 'b']));
  const wl = api.store.current(1, 10, 'disk');
  const state = (s: Workload['result']['state'], message: string): Workload => ({ ...wl, result: { created: 1_700_000_100, state: s, message, data: null } });
  api.store.appendState(1, 10, state('error', 'no space'));
  api.store.appendState(2, 20, { ...api.store.current(2, 20, 'a'), result: { created: 1_700_000_200, state: 'ok', message: '', data: { volume_id: '2-20-a' } } });
  return api;
}

test('debug: admin twins only (zos-config admin_twins)', async (t) => {
  const api = seeded(t);
  for (const cmd of ['list', 'get', 'history', 'info', 'health']) {
    await assert.rejects(api.call(`zos.debug.deployment.${cmd}`, { deployment: '1:10' }, 1), { message: 'unauthorized' }, cmd);
  }
});

test('debug list: active deployments of every twin, or of one, with each workload state', async (t) => {
  const api = seeded(t);
  assert.equal(await api.raw('zos.debug.deployment.list', undefined, ADMIN),
    '{"deployments":[{"twin_id":2,"contract_id":20,"workloads":[{"type":"zmount","name":"a","state":"ok"},{"type":"zmount","name":"b","state":"init"}]}]}');
  assert.deepEqual(await api.call('zos.debug.deployment.list', { twin_id: 1 }, ADMIN), { deployments: [] });
});

test('debug get and history: the stored deployment and its transaction log numbered from 1', async (t) => {
  const api = seeded(t);
  assert.deepEqual(await api.call('zos.debug.deployment.get', { deployment: '2:20' }, ADMIN), { deployment: JSON.parse(JSON.stringify(api.store.get(2, 20))) });
  const h = await api.call('zos.debug.deployment.history', { deployment: '1:10' }, ADMIN);
  const log = api.store.changes(1, 10);
  assert.equal(h.deployment, '1:10');
  assert.deepEqual(h.history, log.map((w, i) => ({ seq: i + 1, type: 'zmount', name: 'disk', created: w.result.created, state: w.result.state, message: w.result.message })));
  assert.deepEqual(h.history.map((x: { state: string }) => x.state), ['init', 'error']);
  await assert.rejects(api.call('zos.debug.deployment.get', { deployment: '1:11' }, ADMIN), { message: 'deployment not found' });
});

test('debug info and health: zos texts for what this node does not inspect; health lists no checks for disks', async (t) => {
  const api = seeded(t);
  const call = (cmd: string, p: unknown) => api.call(`zos.debug.deployment.${cmd}`, p, ADMIN);
  await assert.rejects(call('info', { deployment: '2:20' }), { message: 'workload name is required' });
  await assert.rejects(call('info', { deployment: '2:21', workload: 'a' }), { message: 'failed to get deployment: deployment not found' });
  await assert.rejects(call('info', { deployment: '2:20', workload: 'zz' }), { message: "workload 'zz' not found in deployment" });
  await assert.rejects(call('info', { deployment: '2:20', workload: 'a' }), { message: "workload type 'zmount' not supported for info command" });
  assert.equal(JSON.stringify(await call('health', { deployment: '2:20' })), '{"twin_id":2,"contract_id":20,"workloads":null}');
  await assert.rejects(call('health', {}), { message: 'deployment is required when system_probe is not specified' });
  await assert.rejects(call('health', { options: { system_probe: 'id' } }), /system_probe is not supported/);
});

test('debug: deployment ids parse like zos (strconv texts)', () => {
  assert.deepEqual(parseDeploymentRef('4:5'), { twin: 4, contract: 5 });
  const cases: Array<[string, string]> = [
    ['', 'deployment identifier is required'],
    ['4', "invalid deployment format: expected 'twin-id:contract-id', got '4'"],
    ['1:2:3', "invalid deployment format: expected 'twin-id:contract-id', got '1:2:3'"],
    ['x:1', 'invalid twin ID: x: strconv.ParseUint: parsing "x": invalid syntax'],
    ['4294967296:1', 'invalid twin ID: 4294967296: strconv.ParseUint: parsing "4294967296": value out of range'],
    ['1:-1', 'invalid contract ID: -1: strconv.ParseUint: parsing "-1": invalid syntax'],
  ];
  for (const [input, message] of cases) assert.throws(() => parseDeploymentRef(input), { message }, input);
});
