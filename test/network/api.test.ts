import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Deployment } from '../../node/model/index.ts';
import { PRESET_PORTS } from '../../node/host/network/index.ts';
import { apiFixture } from '../node/api/api-fixture.ts';

const wl = (name: string, type: string, data: unknown, state = 'ok', result: unknown = null) => ({
  version: 0, name, type, data, metadata: '', description: '', result: { created: 1, state, message: '', data: result },
});
const dl = (twin: number, contract: number, workloads: unknown[]): Deployment => ({
  version: 0, twin_id: twin, contract_id: contract, metadata: '', description: '', expiration: 0,
  signature_requirement: { requests: [{ twin_id: twin, required: false, weight: 1 }], weight_required: 1, signatures: [], signature_style: '' },
  workloads,
}) as Deployment;
const vm = (name: string, ifaces: Array<[string, string]>, state = 'ok') =>
  wl(name, 'zmachine', { flist: 'x', network: { interfaces: ifaces.map(([network, ip]) => ({ network, ip })), planetary: false, public_ip: '' } }, state);

test('zos.network answers: private IPs per twin and network, public IPs, wg ports, has_ipv6', async (t) => {
  const api = apiFixture(t, { wgPorts: () => [...PRESET_PORTS, 4567] });
  const put = (d: Deployment) => {
    api.store.create(d);
    for (const w of d.workloads) api.store.appendState(d.twin_id, d.contract_id, w);
  };
  put(dl(7, 1, [vm('a', [['net1', '10.20.2.5']]), vm('b', [['net1', '10.20.2.6']], 'error'), vm('c', [['net2', '10.30.2.2']]),
    wl('l', 'zmachine-light', { flist: 'x', network: { interfaces: [{ network: 'net1', ip: '10.20.3.4' }] } })]));
  put(dl(8, 2, [vm('d', [['net1', '10.20.2.9']]), wl('pub', 'ip', { v4: true, v6: false }, 'ok', { ip: '185.1.2.3/24', ip6: '', gateway: '185.1.2.1' }),
    wl('pub2', 'ipv4', {}, 'error', null)]));
  assert.deepEqual((await api.call('zos.network.list_private_ips', { network_name: 'net1' }, 7)).sort(), ['10.20.2.5', '10.20.3.4']);
  assert.deepEqual(await api.call('zos.network.list_private_ips', { network_name: 'net1' }, 8), ['10.20.2.9']);
  assert.deepEqual(await api.call('zos.network.list_private_ips', { network_name: 'nope' }, 7), []);
  await assert.rejects(api.call('zos.network.list_private_ips', {}, 7), /network_name/);
  assert.deepEqual(await api.call('zos.network.list_public_ips'), ['185.1.2.3/24']);
  assert.deepEqual(await api.call('zos.network.list_wg_ports'), [9943, 9944, 9945, 9651, 300, 80, 443, 8082, 4567]);
  await assert.rejects(api.call('zos.network.has_ipv6'), /no public ipv6 found/);
});
