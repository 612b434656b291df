// zos.debug.deployment.{info,health} for network workloads: the checks read real namespaces, links
// and a bridge that the test builds in namespaces of its own, and compare with what `ip` shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { parseDeployment } from '../../../node/model/index.ts';
import { networkId } from '../../../node/model/ids.ts';
import type { NrInfo } from '../../../node/host/network/index.ts';
import { requireHost } from '../../helpers/host.ts';
import { apiFixture } from './api-fixture.ts';

const ip = (...args: string[]) => execa('ip', args);

test('debug health: a network NR is healthy while its namespace, links and bridge are there, and says what is missing', async (t) => {
  const root = process.getuid?.() === 0 && (await execa('ip', ['netns', 'list'], { reject: false })).exitCode === 0;
  if (!requireHost(t, root, 'root and ip netns are needed')) return;
  const id = randomBytes(3).toString('hex');
  const nodeNs = `zt9h-${id}`;
  const nrNs = `zt9n-${id}`;
  const bridge = `bt9-${id}`;
  t.after(async () => {
    for (const ns of [nodeNs, nrNs]) await execa('ip', ['netns', 'del', ns], { reject: false });
  });
  await ip('netns', 'add', nodeNs);
  await ip('netns', 'add', nrNs);
  await ip('-n', nodeNs, 'link', 'add', bridge, 'type', 'bridge');
  // veth pairs: this host has no dummy driver.
  await ip('-n', nodeNs, 'link', 'add', 'port0', 'type', 'veth', 'peer', 'name', 'port1');
  await ip('-n', nodeNs, 'link', 'set', 'port0', 'master', bridge);
  for (const [i, l] of ['private', 'public', 'wg0'].entries()) await ip('-n', nrNs, 'link', 'add', l, 'type', 'veth', 'peer', 'name', `peer${i}`);
  const run = async () =>
    JSON.parse((await execa('ip', ['netns', 'exec', nodeNs, process.execPath, '--import', 'tsx', new URL('./debug-network.fixture.ts', import.meta.url).pathname, nrNs, bridge, 'wg0'])).stdout);
  const netid = networkId(7, 'net1');

  assert.deepEqual(await run(), [
    { name: 'network.config', ok: true, message: 'config valid', evidence: { netid } },
    { name: 'network.namespace', ok: true, message: 'namespace exists', evidence: { namespace: nrNs } },
    { name: 'network.interfaces', ok: true, message: 'all required interfaces present', evidence: { namespace: nrNs } },
    { name: 'network.bridge', ok: true, message: 'bridge has members', evidence: { bridge } },
  ]);

  await ip('-n', nrNs, 'link', 'del', 'public');
  await ip('-n', nodeNs, 'link', 'del', 'port0');
  const names = JSON.parse((await ip('-n', nrNs, '-j', 'link', 'show')).stdout).map((l: { ifname: string }) => l.ifname);
  assert.ok(!names.includes('public'), 'ip shows public gone');
  const broken = await run();
  assert.deepEqual(broken[2], { name: 'network.interfaces', ok: false, message: 'missing interfaces: [public]', evidence: { namespace: nrNs, missing: ['public'] } });
  assert.deepEqual(broken[3], { name: 'network.bridge', ok: false, message: 'bridge has no members', evidence: { bridge } });

  await ip('netns', 'del', nrNs);
  const gone = await run();
  assert.deepEqual(gone[1], { name: 'network.namespace', ok: false, message: 'namespace not found', evidence: { namespace: nrNs } });
  assert.deepEqual(gone[2]!.evidence.missing, ['wg0', 'private', 'public']);
});

test('debug info and health over the API: a network workload names its NR namespace; no NR is unhealthy', async (t) => {
  const nr = { twin: 3, name: 'net', namespace: 'n-fake', bridge: 'b-fake', wgInterface: 'w-fake' } as NrInfo;
  const api = apiFixture(t, { adminTwins: [1], networkResource: (twin, name) => (twin === 3 && name === 'net' ? nr : undefined) });
  api.store.create(parseDeployment({
    twin_id: 3, contract_id: 30, signature_requirement: { requests: [{ twin_id: 3, required: true, weight: 1 }], weight_required: 1 },
    workloads: [
      { name: 'net', type: 'network', data: { ip_range: '10.1.0.0/16', subnet: '10.1.1.0/24', wireguard_private_key: 'k' } },
      { name: 'other', type: 'network', data: { ip_range: '10.2.0.0/16', subnet: '10.2.1.0/24', wireguard_private_key: 'k' } },
      { name: 'disk', type: 'zmount', data: { size: 1024 } },
    ],
  }));
  assert.equal(await api.raw('zos.debug.deployment.info', { deployment: '3:30', workload: 'net' }),
    JSON.stringify({ workload_id: '3-30-net', type: 'network', name: 'net', info: { net_id: networkId(3, 'net'), namespace: 'n-fake', state: 'init' }, logs: "Network workloads don't support logs" }));
  const h = await api.call('zos.debug.deployment.health', { deployment: '3:30' });
  assert.deepEqual(h.workloads.map((w: { name: string; status: string }) => [w.name, w.status]), [['net', 'unhealthy'], ['other', 'unhealthy']]);
  assert.deepEqual(h.workloads[1].checks[0], { name: 'network.config', ok: false, message: 'config file not found: no network resource on this node', evidence: { netid: networkId(3, 'other') } });
});
