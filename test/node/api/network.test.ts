// zos.network.interfaces, zos.admin.interfaces, zos.network.public_config_get, zos.gpu.list and
// zos.location.get against the host's own facts (ip, /sys/bus/pci, pci.ids) or a local service.
import type { PublicSetup } from '../../../node/host/network/index.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { GeoIp } from '../../../node/geoip.ts';
import { HostSystem } from '../../../node/host/system/index.ts';
import { parseDeployment } from '../../../node/model/index.ts';
import type { NodeChain } from '../../../node/chain-port.ts';
import { apiFixture } from './api-fixture.ts';

const FARMER = 7;
const farmerChain = { farmTwinId: async () => FARMER } as unknown as NodeChain;

/** Global unicast, not ULA: the addresses zos lists (checked here with plain prefix rules). */
const zosListed = (ip: string) =>
  !/^(127\.|169\.254\.|0\.|22[4-9]\.|2[3-5]\d\.)/.test(ip) && !/^(::1$|fe[89ab]|f[cd]|ff)/i.test(ip);

interface IpLink { ifname: string; address: string; linkinfo?: { info_kind?: string }; addr_info: { local: string; prefixlen: number }[] }
const hostLinks = async (): Promise<IpLink[]> => JSON.parse((await execa('ip', ['-j', '-d', 'addr', 'show'])).stdout);

/** Links can come and go on a shared host while we compare: match in one of a few tries. */
async function eventually(check: () => Promise<void>): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      return await check();
    } catch (err) {
      if (i >= 4) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

test('zos.network.interfaces: "zos" holds the addresses of the default-route interface, as ip shows them', async (t) => {
  const api = apiFixture(t);
  const route = (await execa('ip', ['-4', 'route', 'show', 'default'])).stdout;
  const dev = /\bdev (\S+)/.exec(route)?.[1];
  if (!dev) {
    await assert.rejects(api.call('zos.network.interfaces'), /failed to get ips for '\{zos  zos\}' interface/);
    return;
  }
  await eventually(async () => {
    const expected = (await hostLinks()).find((l) => l.ifname === dev)!.addr_info.map((a) => a.local).filter(zosListed);
    assert.equal(await api.raw('zos.network.interfaces'), JSON.stringify({ zos: expected, ygg: [] }));
  });
});

test('zos.admin.interfaces: every physical link but lo with its MAC and global CIDRs; farmer only', async (t) => {
  const api = apiFixture(t, { chain: farmerChain });
  await assert.rejects(api.call('zos.admin.interfaces', undefined, FARMER + 1), { message: 'unauthorized' });
  await eventually(async () => {
    const expected: Record<string, { ips: string[] | null; mac: string }> = {};
    for (const l of (await hostLinks()).sort((a, b) => (a.ifname < b.ifname ? -1 : 1))) {
      if (l.ifname === 'lo' || l.linkinfo?.info_kind) continue;
      const ips = l.addr_info.filter((a) => zosListed(a.local)).map((a) => `${a.local}/${a.prefixlen}`);
      expected[l.ifname] = { ips: ips.length ? ips : null, mac: l.address };
    }
    assert.equal(await api.raw('zos.admin.interfaces', undefined, FARMER), JSON.stringify(expected));
    assert.deepEqual(await api.call('zos.network.admin.interfaces', undefined, FARMER), expected);
  });
});

test('zos.network.public_config_get: the public namespace as it is in zos shape (type empty, domain from the config), or zos text without one', async (t) => {
  await assert.rejects(apiFixture(t).call('zos.network.public_config_get'), { message: 'no public configuration' });
  await assert.rejects(apiFixture(t).call('zos.network.has_ipv6'), { message: 'no public ipv6 found' });
  const setup: PublicSetup = { ipv4: '198.18.5.10/24', gw4: '198.18.5.1', ipv6: '2001:db8::10/64', gw6: '2001:db8::1', domain: 'node.example' };
  const publicNet = (live: { ipv4: string; gw4: string; ipv6: string; gw6: string }, s: PublicSetup | null) => ({
    live: async () => live, setup: () => s, exitDevice: async () => ({ is_single: true, is_dual: false, dual_interface: '' }), setExitNic: async () => undefined,
  });
  const api = apiFixture(t, { publicNet: publicNet({ ipv4: '198.18.5.10/24', gw4: '198.18.5.1', ipv6: '2001:DB8:0:0::10/64', gw6: '2001:db8::1' }, setup) });
  assert.equal(await api.raw('zos.network.public_config_get'),
    '{"type":"","ipv4":"198.18.5.10/24","ipv6":"2001:db8::10/64","gw4":"198.18.5.1","gw6":"2001:db8::1","domain":"node.example"}');
  assert.equal(await api.call('zos.network.has_ipv6'), true);
  const v4only = apiFixture(t, { publicNet: publicNet({ ipv4: '198.18.5.10/24', gw4: '198.18.5.1', ipv6: '', gw6: '' }, { ...setup, ipv6: null, gw6: null, domain: null }) });
  assert.deepEqual(await v4only.call('zos.network.public_config_get'), { type: '', ipv4: '198.18.5.10/24', ipv6: '', gw4: '198.18.5.1', gw6: '', domain: '' });
  await assert.rejects(v4only.call('zos.network.has_ipv6'), { message: 'no public ipv6 found' });
});

const PCI_IDS = '/usr/share/misc/pci.ids';

test('zos.gpu.list: the host PCI bus scanned by the test agrees (null when it has no discrete GPU)', async (t) => {
  const dir = '/sys/bus/pci/devices';
  const hex = (slot: string, f: string) => Number.parseInt(readFileSync(join(dir, slot, f), 'utf8').trim(), 16);
  const gpus = readdirSync(dir).filter((s) => hex(s, 'class') === 0x030000 && [0x1002, 0x10de].includes(hex(s, 'vendor')) && !s.startsWith('0000:00:'));
  const answer = await apiFixture(t).call('zos.gpu.list');
  if (!gpus.length) assert.equal(answer, null);
  else assert.deepEqual(answer.map((g: { id: string }) => g.id.split('/')[0]).sort(), gpus.sort());
});

test('zos.gpu.list: a discrete GPU in a sysfs tree gets pci.ids names, its largest BAR as vram and its contract', async (t) => {
  if (!existsSync(PCI_IDS)) assert.fail(`${PCI_IDS} missing (Debian package pci.ids, in .ci/debian-packages)`);
  const sys = mkdtempSync(join(tmpdir(), 'zos-pci-'));
  t.after(() => rmSync(sys, { recursive: true, force: true }));
  const device = (slot: string, attrs: Record<string, string>) => {
    const d = join(sys, 'bus/pci/devices', slot);
    mkdirSync(d, { recursive: true });
    for (const [k, v] of Object.entries(attrs)) writeFileSync(join(d, k), `${v}\n`);
  };
  const bars = ['0x00000000fd000000 0x00000000fdffffff 0x0000000000040200', '0x000000e000000000 0x000000efffffffff 0x000000000014220c', '0x0000000000000000 0x0000000000000000 0x0000000000000000'];
  device('0000:3b:00.0', { class: '0x030000', vendor: '0x10de', device: '0x1eb8', subsystem_vendor: '0x10de', subsystem_device: '0x0000', resource: bars.join('\n') });
  device('0000:00:02.0', { class: '0x030000', vendor: '0x10de', device: '0x1eb8', subsystem_vendor: '0x0000', subsystem_device: '0x0000' });
  device('0000:3c:00.0', { class: '0x020000', vendor: '0x8086', device: '0x1572', subsystem_vendor: '0x0000', subsystem_device: '0x0000' });
  const api = apiFixture(t, { host: new HostSystem({ sys }) });
  const ids = readFileSync(PCI_IDS, 'utf8');
  const lines = ids.split('\n');
  const at = lines.findIndex((l) => l.startsWith('10de  '));
  const vendor = lines[at]!.slice(6);
  const name = lines.slice(at + 1).find((l) => l.startsWith('\t1eb8  '))!.slice(7);
  assert.deepEqual(await api.call('zos.gpu.list'), [{ id: '0000:3b:00.0/10de/1eb8', vendor, device: name, vram: 65536, contract: 0 }]);
  // A zmachine of an active deployment that names the GPU holds it.
  api.store.create(parseDeployment({
    twin_id: 3, contract_id: 42, signature_requirement: { requests: [{ twin_id: 3, required: true, weight: 1 }], weight_required: 1 },
    workloads: [{ name: 'vm', type: 'zmachine', data: { flist: 'https://hub/x.flist', network: { interfaces: [{ network: 'n', ip: '10.1.1.2' }] }, compute_capacity: { cpu: 1, memory: 2 ** 30 }, gpu: ['0000:3b:00.0/10de/1eb8'] } }],
  }));
  assert.equal((await api.call('zos.gpu.list'))[0].contract, 42);
});

async function serve(t: import('node:test').TestContext, handler: (res: import('node:http').ServerResponse) => void): Promise<string> {
  const server: Server = createServer((_req, res) => handler(res)).listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

test('zos.location.get: the first geoip service that answers, zos defaults for missing fields, zos text when none answers', async (t) => {
  await assert.rejects(apiFixture(t).call('zos.location.get'), { message: 'failed to fetch location information' });
  let hits = 0;
  const broken = await serve(t, (res) => res.writeHead(500).end());
  const good = await serve(t, (res) => {
    hits++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ latitude: 51.05, longitude: 3.72, country_name: 'Belgium', country_code: 'BE', city_name: 'Ghent', extra: 1 }));
  });
  const api = apiFixture(t, { geoip: new GeoIp([broken, good]) });
  const expected = '{"longitude":3.72,"latitude":51.05,"continent":"Unknown","country_name":"Belgium","country_code":"BE","city_name":"Ghent"}';
  assert.equal(await api.raw('zos.location.get'), expected);
  assert.equal(await api.raw('zos.location.get'), expected);
  assert.equal(hits, 1, 'kept once a service answered');
});
