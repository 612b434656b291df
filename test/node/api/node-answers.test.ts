// A real `zos node` on a local grid: its registration on chain carries the host's own facts, and
// its diagnostics, perf, location and debug answers reach an RMB client in zos' shapes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { execa } from 'execa';
import { startGrid, waitFor, type Grid, type GridUser, type NodeProcess } from '../../helpers/grid.ts';
import { rmb } from '../../helpers/deployments.ts';

let grid: Grid;
let node: NodeProcess;
let user: GridUser;
let geoip: Server;
const LOCATION = { longitude: 3.72, latitude: 51.05, continent: 'Europe', country_name: 'Belgium', country_code: 'BE', city_name: 'Ghent' };

before(async () => {
  geoip = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(LOCATION))).listen(0, '127.0.0.1');
  await once(geoip, 'listening');
  grid = await startGrid();
  user = await grid.user();
  const geoipUrl = `http://127.0.0.1:${(geoip.address() as AddressInfo).port}/`;
  node = await grid.startNode({ extraArgs: ['--admin-twins', String(user.twinId), '--geoip-url', geoipUrl] });
});
after(async () => {
  await grid?.close();
  geoip?.close();
});

test('registration: secure boot, virtualization, serial and location on chain are the host facts', async () => {
  const onChain = (await grid.client.query.node(node.nodeId))!;
  const efivar = '/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c';
  assert.equal(onChain.secureBoot, existsSync(efivar) && readFileSync(efivar)[4] === 1);
  const virt = await execa('virt-what', [], { reject: false });
  if (virt.exitCode === 0) assert.equal(onChain.virtualized, virt.stdout.trim() !== '');
  const serial = await execa('dmidecode', ['-s', 'baseboard-serial-number'], { reject: false });
  assert.equal(onChain.serialNumber, serial.exitCode === 0 && serial.stdout.trim() ? serial.stdout.trim() : null);
  // The "zos" interface: the default-route link's MAC and global, non-ULA addresses, as ip shows them.
  const dev = /\bdev (\S+)/.exec((await execa('ip', ['-4', 'route', 'show', 'default'])).stdout)?.[1];
  if (dev) {
    const [link] = JSON.parse((await execa('ip', ['-j', 'addr', 'show', 'dev', dev])).stdout);
    const ips = link.addr_info.map((a: { local: string }) => a.local).filter((a: string) => !/^(127\.|169\.254\.|fe[89ab]|f[cd]|::1$)/i.test(a));
    assert.deepEqual(onChain.interfaces, [{ name: 'zos', mac: link.address, ips }]);
  } else {
    assert.deepEqual(onChain.interfaces, []);
  }
  assert.deepEqual(
    { city: onChain.location.city, country: onChain.location.country, latitude: onChain.location.latitude, longitude: onChain.location.longitude },
    { city: 'Ghent', country: 'Belgium', latitude: '51.05', longitude: '3.72' },
  );
});

test('diagnostics and perf over RMB: every module up, healthy once the health check stored a clean result', async () => {
  await waitFor(async () => (await rmb<any>(user, node.twinId, 'zos.perf.get_all').catch(() => null)) !== null, 'first health check stored');
  const hc = await rmb<any>(user, node.twinId, 'zos.perf.get', { name: 'healthcheck' });
  assert.equal(hc.name, 'healthcheck');
  assert.deepEqual(hc.result, { cache: [], network: [] });
  const d = await rmb<any>(user, node.twinId, 'zos.system.diagnostics');
  assert.deepEqual(Object.keys(d), ['system_status_ok', 'modules', 'healthy', 'listening_sockets']);
  assert.deepEqual(Object.keys(d.modules), ['chain', 'provision', 'relay', 'storage']);
  for (const [name, m] of Object.entries<any>(d.modules)) assert.equal(m.error, undefined, `${name}: ${m.error}`);
  assert.equal(d.system_status_ok, true);
  assert.equal(d.healthy, true);
  await assert.rejects(rmb(user, node.twinId, 'zos.perf.get', { name: 'iperf' }), /result not found/);
});

test('location and debug over RMB: the geoip answer; the admin twin lists deployments', async () => {
  assert.deepEqual(await rmb(user, node.twinId, 'zos.location.get'), LOCATION);
  assert.deepEqual(await rmb(user, node.twinId, 'zos.debug.deployment.list'), { deployments: [] });
});
