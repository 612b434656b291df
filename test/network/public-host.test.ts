import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { silentLogger } from '../../lib/log.ts';
import { PublicHost, removeStoredPublic, type PublicSetup } from '../../node/host/network/index.ts';
import { checkExit, currentExit, type IpLink } from '../../node/host/network/public-nic.ts';
import { ipPrimitive } from '../../node/primitives/ip/index.ts';
import { requireHost } from '../helpers/host.ts';
import { Lab, labSupported } from '../helpers/lab.ts';
import { addUpstreamRouter, FARM_NET } from '../helpers/lab-public.ts';

// The public setup on its own, acting for a lab node namespace wired to a farm segment behind an
// upstream router: real namespaces, bridge, macvlan; the laptop reaches the node's public addresses.

let lab: Lab;
let dir = '';
let skip: string | null = null;

before(async () => {
  skip = await labSupported();
  if (skip) return;
  lab = await new Lab().start({ nodes: 1 });
  await addUpstreamRouter(lab);
  dir = await mkdtemp(join(tmpdir(), 'zos-public-'));
});

after(async () => {
  if (dir) await removeStoredPublic(dir, silentLogger());
  await lab?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const fromLaptop = (to: string) => lab.exec(lab.laptop, 'ping', ['-c1', '-W2', to], { reject: false });
/**
 * A new address is reachable once the kernel has it in use: an IPv6 one only after duplicate
 * address detection (about a second), and the router learns its neighbour first. Up to ~6 s.
 */
async function reaches(to: string): Promise<number> {
  let r = await fromLaptop(to);
  for (let i = 0; i < 5 && r.exitCode !== 0; i++) r = await fromLaptop(to);
  return r.exitCode ?? -1;
}
const setup: PublicSetup = { ipv4: FARM_NET.node.ip4.ip, gw4: FARM_NET.gw4, ipv6: FARM_NET.node.ip6.ip, gw6: FARM_NET.gw6, domain: 'gw.lab.example' };

test('public setup: exit NIC chosen like zos, public namespace from the config reached from the laptop, followed on change, rebuilt, torn down', async (t) => {
  if (!requireHost(t, skip === null, skip ?? '')) return;
  const node = lab.nodes[0]!.ns;
  const pub = new PublicHost({ dataDir: dir, hostNs: node, log: silentLogger() });
  await pub.start();
  assert.equal(pub.namespace(), null);
  await assert.rejects(pub.exitDevice(), { message: 'no public bridge found: Link not found' });
  await assert.rejects(pub.live(), { message: 'no public configuration' });

  // zos' checks: a missing link, the node's own uplink (holds its address), a non-NIC.
  await assert.rejects(pub.setExitNic('nope0'), { message: 'Link not found' });
  await assert.rejects(pub.setExitNic('eth0'), { message: "device is 'eth0' already used" });
  await assert.rejects(pub.setExitNic('lo'), { message: 'invalid exit bridge must be a physical nic or the default bridge' });
  await pub.setExitNic('eth1');
  await pub.setExitNic('eth1');
  assert.deepEqual(await pub.exitDevice(), { is_single: false, is_dual: true, dual_interface: 'eth1' });

  const changes: Array<PublicSetup | null> = [];
  pub.onChange((s) => changes.push(s));
  await pub.apply(setup);
  const ns = pub.namespace()!;
  assert.ok(ns, 'namespace named once applied');
  assert.deepEqual(await pub.live(), { ipv4: '185.206.122.10/24', gw4: FARM_NET.gw4, ipv6: '2a02:1802:5e:2::10/64', gw6: FARM_NET.gw6 });
  assert.equal(await reaches('185.206.122.10'), 0, 'laptop reaches the public IPv4 through the router');
  assert.equal(await reaches('2a02:1802:5e:2::10'), 0, 'laptop reaches the public IPv6 through the router');
  // A service in the namespace (what a gateway runs) answers on the public address.
  const srv = lab.spawn({ role: 'pub', ns, ip: '' }, 'busybox', ['nc', '-l', '-p', '8080', '-e', 'echo', 'hello-public']);
  let got = '';
  for (let i = 0; i < 20 && !got.includes('hello-public'); i++) {
    got = (await lab.exec(lab.laptop, 'busybox', ['nc', '-w', '2', '185.206.122.10', '8080'], { reject: false })).stdout;
    if (!got) await new Promise((r) => setTimeout(r, 200));
  }
  srv.kill();
  assert.match(got, /hello-public/);

  // Tap filters (ip workloads): pinned with their owner; at start the ip primitive drops those of its
  // type that no workload owns (a node killed mid-cancel), leaving the others.
  const nft = async () => (await execa('ip', ['netns', 'exec', node, 'nft', 'list', 'tables', 'bridge'])).stdout.split('\n').filter((l) => l.includes('zos-pub-')).length;
  await pub.pinTap('k-kept', '185.206.122.20', '02:00:00:00:00:01', { id: '7-1-pub', type: 'ip' });
  await pub.pinTap('k-gone', '185.206.122.21', '02:00:00:00:00:02', { id: '7-2-pub', type: 'ip' });
  await pub.pinTap('k-v4', null, '02:00:00:00:00:03', { id: '7-3-pub', type: 'ipv4' });
  assert.equal(await nft(), 3);
  assert.equal(await pub.pinned('k-gone'), true);
  const owned = { workload: { twin: 7, contract: 1, name: 'pub', id: '7-1-pub' }, data: { v4: true, v6: false }, state: 'ok' as const, result: null };
  await ipPrimitive({ public: pub, contractIps: async () => [] }).init!({ workloads: [owned], log: silentLogger(), signal: new AbortController().signal });
  assert.deepEqual(pub.pins().map((p) => p.owner).sort(), ['7-1-pub', '7-3-pub']);
  assert.equal(await pub.pinned('k-gone'), false);
  assert.equal(await nft(), 2);
  for (const k of ['k-kept', 'k-v4']) await pub.unpinTap(k);
  assert.equal(await nft(), 0);

  // A change on chain moves the address; the old one is gone.
  await pub.apply({ ...setup, ipv4: '185.206.122.11/24', ipv6: null, gw6: null });
  assert.deepEqual(await pub.live(), { ipv4: '185.206.122.11/24', gw4: FARM_NET.gw4, ipv6: '', gw6: '' });
  assert.equal(await reaches('185.206.122.11'), 0);
  assert.notEqual((await fromLaptop('185.206.122.10')).exitCode, 0);
  assert.deepEqual(changes.map((c) => c?.ipv4), ['185.206.122.10/24', '185.206.122.11/24']);

  // A restarted node keeps it; after a host reboot (namespace and bridge gone) it rebuilds it, exit included.
  await execa('ip', ['netns', 'del', ns]);
  await execa('ip', ['-n', node, 'link', 'del', pub.bridge()]);
  const again = new PublicHost({ dataDir: dir, hostNs: node, log: silentLogger() });
  await again.start();
  assert.equal(again.namespace(), ns);
  assert.deepEqual(await again.exitDevice(), { is_single: false, is_dual: true, dual_interface: 'eth1' });
  assert.equal(await reaches('185.206.122.11'), 0, 'rebuilt after the reboot');

  await again.apply(null);
  assert.equal(again.namespace(), null);
  await assert.rejects(again.live(), { message: 'no public configuration' });
  assert.equal((await execa('ip', ['netns', 'list'])).stdout.includes(ns), false, 'namespace removed');
});

test('public setup in single-NIC mode: with no NIC chosen, the bridge joins the node uplink bridge (zos `zos`) over a veth pair', async (t) => {
  if (!requireHost(t, skip === null, skip ?? '')) return;
  // A node whose uplink is a bridge `zos` (as on zos), and a farm router on that same segment.
  const id = `zs${process.pid.toString(36)}${Math.random().toString(36).slice(2, 5)}`;
  const [host, rtr] = [`${id}-h`, `${id}-r`];
  const dir1 = await mkdtemp(join(tmpdir(), 'zos-public1-'));
  const pub = new PublicHost({ dataDir: dir1, hostNs: host, log: silentLogger() });
  t.after(async () => {
    await removeStoredPublic(dir1, silentLogger()).catch(() => undefined);
    for (const n of [host, rtr]) await execa('ip', ['netns', 'del', n], { reject: false });
    await rm(dir1, { recursive: true, force: true });
  });
  const sh = (ns: string, args: string[]) => execa('ip', ['-n', ns, ...args]);
  for (const n of [host, rtr]) await execa('ip', ['netns', 'add', n]);
  await sh(host, ['link', 'add', 'zos', 'type', 'bridge']);
  await sh(host, ['addr', 'add', '198.18.9.2/24', 'dev', 'zos']);
  await sh(host, ['link', 'set', 'zos', 'up']);
  await sh(host, ['route', 'add', 'default', 'via', '198.18.9.1']);
  await sh(host, ['link', 'add', 'r0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', rtr]);
  await sh(host, ['link', 'set', 'r0', 'master', 'zos', 'up']);
  await sh(rtr, ['addr', 'add', `${FARM_NET.gw4}/24`, 'dev', 'eth0']);
  await sh(rtr, ['link', 'set', 'eth0', 'up']);

  await pub.start();
  await pub.apply({ ...setup, ipv6: null, gw6: null });
  assert.deepEqual(await pub.exitDevice(), { is_single: true, is_dual: false, dual_interface: '' });
  await pub.setExitNic('zos');
  assert.deepEqual(await pub.exitDevice(), { is_single: true, is_dual: false, dual_interface: '' });
  const ping = await execa('ip', ['netns', 'exec', rtr, 'ping', '-c1', '-W2', '185.206.122.10'], { reject: false });
  assert.equal(ping.exitCode, 0, 'the router on the uplink segment reaches the public namespace');
});

test('public exit rules: the uplink bridge is zos single mode; a NIC in another bridge or holding addresses is in use', () => {
  const links: IpLink[] = [
    { ifname: 'lo' }, { ifname: 'zos', linkinfo: { info_kind: 'bridge' }, addr_info: [{ local: '185.1.2.3' }] },
    { ifname: 'eth1' }, { ifname: 'eth2', master: 'other' }, { ifname: 'eth3', addr_info: [{ local: '185.1.2.9' }] },
    { ifname: 'veth0', linkinfo: { info_kind: 'veth' } }, { ifname: 'lab0', linkinfo: { info_kind: 'veth' }, link_netnsid: 0 },
    { ifname: 'bp', linkinfo: { info_kind: 'bridge' } }, { ifname: 'tap0', master: 'bp', linkinfo: { info_kind: 'tun' } },
  ];
  assert.deepEqual(checkExit(links, 'zos', 'zos', 'bp'), { mode: 'single', uplink: 'zos' });
  assert.deepEqual(checkExit(links, 'eth1', 'zos', 'bp'), { mode: 'dual', nic: 'eth1' });
  assert.deepEqual(checkExit(links, 'lab0', 'zos', 'bp'), { mode: 'dual', nic: 'lab0' });
  assert.throws(() => checkExit(links, 'eth2', 'zos', 'bp'), { message: "device is 'eth2' already used" });
  assert.throws(() => checkExit(links, 'eth3', 'zos', 'bp'), { message: "device is 'eth3' already used" });
  assert.throws(() => checkExit(links, 'veth0', 'zos', 'bp'), { message: 'invalid exit bridge must be a physical nic or the default bridge' });
  assert.throws(() => currentExit(links, 'bp', 'tz'), { message: 'file does not exist' }, 'a tap is not an exit');
  assert.deepEqual(currentExit([...links, { ifname: 'tz', master: 'bp', linkinfo: { info_kind: 'veth' } }], 'bp', 'tz'), { is_single: true, is_dual: false, dual_interface: '' });
});
