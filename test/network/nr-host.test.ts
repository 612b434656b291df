import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { silentLogger } from '../../lib/log.ts';
import { convert4to6, parseIPv4 } from '../../node/host/network/addr.ts';
import { NetworkHost, type NrRequest } from '../../node/host/network/index.ts';
import { isWireguardGo } from '../../node/host/network/wireguard.ts';
import { requireHost } from '../helpers/host.ts';
import { Lab, labSupported, nodeIp, wgKeyPair } from '../helpers/lab.ts';

// The host layer on its own, each NetworkHost acting for a lab node namespace: real
// namespaces, bridges, nftables and wireguard-go, no node process.


let lab: Lab;
let dirs: string[] = [];
const hosts: NetworkHost[] = [];
let skip: string | null = null;

async function hostFor(i: number, dataDir?: string, publicNs?: () => string | null): Promise<NetworkHost> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'zos-nrhost-')));
  if (!dataDir) dirs.push(dir);
  const h = new NetworkHost({ dataDir: dir, hostNs: lab.nodes[i]!.ns, publicNs, log: silentLogger() });
  await h.start();
  hosts.push(h);
  return h;
}

before(async () => {
  skip = await labSupported();
  if (!skip && (await execa('sh', ['-c', 'command -v wireguard-go && command -v wg && command -v nft'], { reject: false })).exitCode !== 0) {
    skip = 'wireguard-go, wireguard-tools and nftables are needed';
  }
  if (!skip) lab = await new Lab().start({ nodes: 2 });
});

after(async () => {
  for (const h of hosts) for (const nr of h.list()) await h.remove(nr.twin, nr.name).catch(() => undefined);
  await lab?.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const k1 = wgKeyPair();
const k2 = wgKeyPair();
const user = wgKeyPair();
const req = (o: Partial<NrRequest> & { subnet: string }): NrRequest => ({
  kind: 'network', twin: 7, name: 'net1', workloadId: `7-1-${o.name ?? 'net1'}`, ipRange: '10.20.0.0/16', ...o,
});

const inNs = (ns: string, cmd: string, args: string[]) => execa('ip', ['netns', 'exec', ns, cmd, ...args], { reject: false });
const ping = (ns: string, to: string) => inNs(ns, 'ping', ['-c1', '-W2', to]);

test('network resources: build, peer over WireGuard, update live, isolate, adopt, remove', async (t) => {
  if (!requireHost(t, skip === null, skip ?? '')) return;
  const [a, b] = [await hostFor(0), await hostFor(1)];
  const peerA = { publicKey: k1.pub, allowedIps: ['10.20.2.0/24', '100.64.20.2/32'], endpoint: `${nodeIp(0)}:4001` };
  const peerB = { publicKey: k2.pub, allowedIps: ['10.20.3.0/24', '100.64.20.3/32'], endpoint: `${nodeIp(1)}:4002` };
  const nrA = await a.ensure(req({ subnet: '10.20.2.0/24', wireguard: { privateKey: k1.priv, listenPort: 4001, peers: [peerB] } }));
  const nrB = await b.ensure(req({ subnet: '10.20.3.0/24', wireguard: { privateKey: k2.priv, listenPort: 4002, peers: [peerA] } }));

  await t.test('an NR is a namespace, a bridge, .1, wireguard-go owning the UDP socket, nft rules', async () => {
    const addrs = (await execa('ip', ['-n', nrA.namespace, '-o', 'addr'])).stdout;
    assert.match(addrs, /private\s+inet 10\.20\.2\.1\/24/);
    assert.match(addrs, /inet 100\.64\.20\.2\/16/);
    assert.match((await execa('ip', ['-n', lab.nodes[0]!.ns, 'link', 'show', nrA.bridge])).stdout, /UP/);
    const [info] = a.list();
    assert.ok(info?.wgPid && (await isWireguardGo(info.wgPid, info.wgInterface!)));
    const udp = (await inNs(lab.nodes[0]!.ns, 'ss', ['-Hulpn', 'sport', '= :4001'])).stdout;
    assert.match(udp, /wireguard-go/, 'the UDP socket belongs to wireguard-go in the node namespace');
    assert.match((await inNs(nrA.namespace, 'nft', ['list', 'table', 'inet', 'zos-nr'])).stdout, /masquerade/);
    assert.deepEqual(a.wgPorts().slice(-1), [4001]);
  });

  await t.test("a NIC on the NR bridge reaches the NR over IPv6, as zos sets it up: Convert4to6 of .1 and fe80::1, forwarding on", async () => {
    const node = lab.nodes[0]!.ns;
    const gw6 = convert4to6(nrA.netId, parseIPv4('10.20.2.1')!);
    const addrs = (await execa('ip', ['-n', nrA.namespace, '-o', '-6', 'addr', 'show', 'dev', 'private'])).stdout;
    assert.match(addrs, new RegExp(`inet6 ${gw6}/64 `));
    assert.match(addrs, /inet6 fe80::1\/64 /);
    assert.equal((await inNs(nrA.namespace, 'sysctl', ['-n', 'net.ipv6.conf.all.forwarding'])).stdout.trim(), '1');
    // The WireGuard side stays IPv4, as zos' (its 100.64 address, the ip_range route): a user's
    // access peer, to which the official clients give IPv4 AllowedIPs only, never reaches the ULA.
    const wg = a.list()[0]!.wgInterface!;
    assert.doesNotMatch((await execa('ip', ['-n', nrA.namespace, '-o', '-6', 'addr', 'show', 'dev', wg])).stdout, /scope global/);
    const wgRoutes6 = (await execa('ip', ['-n', nrA.namespace, '-6', 'route', 'show', 'dev', wg])).stdout.split('\n').filter(Boolean);
    assert.deepEqual(wgRoutes6.filter((r) => !/^(fe80::|multicast ff00::)/.test(r)), [], 'no IPv6 route through WireGuard');
    // A VM's NIC stand-in: a veth whose node end joins the NR bridge, as a VM tap does.
    const vmNs = `zv6-${process.pid}`;
    const port = `v6${process.pid}`;
    await execa('ip', ['netns', 'add', vmNs]);
    try {
      await execa('ip', ['-n', node, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', vmNs]);
      await execa('ip', ['-n', node, 'link', 'set', port, 'master', nrA.bridge, 'up']);
      await execa('ip', ['-n', vmNs, 'addr', 'add', `${convert4to6(nrA.netId, parseIPv4('10.20.2.9')!)}/64`, 'dev', 'eth0', 'nodad']);
      await execa('ip', ['-n', vmNs, 'link', 'set', 'eth0', 'up']);
      assert.equal((await inNs(vmNs, 'ping', ['-6', '-c1', '-W3', gw6])).exitCode, 0, `the NR answers at ${gw6}`);
      assert.equal((await inNs(vmNs, 'ping', ['-6', '-c1', '-W3', 'fe80::1%eth0'])).exitCode, 0, 'and at fe80::1');
    } finally {
      await execa('ip', ['-n', node, 'link', 'del', port], { reject: false });
      await execa('ip', ['netns', 'del', vmNs], { reject: false });
    }
  });

  await t.test('the NRs reach each other through WireGuard', async () => {
    assert.equal((await ping(nrA.namespace, '10.20.3.1')).exitCode, 0);
    assert.equal((await ping(nrB.namespace, '10.20.2.1')).exitCode, 0);
  });

  await t.test('a peer is added live without dropping the others', async () => {
    const pinger = inNs(nrA.namespace, 'ping', ['-c', '30', '-i', '0.1', '-W', '1', '10.20.3.1']);
    await new Promise((r) => setTimeout(r, 500));
    const third = wgKeyPair();
    await a.ensure(req({ subnet: '10.20.2.0/24', wireguard: { privateKey: k1.priv, listenPort: 4001, peers: [peerB, { publicKey: third.pub, allowedIps: ['10.20.9.0/24'], endpoint: '' }] } }));
    const out = (await pinger).stdout;
    assert.match(out, /30 packets transmitted, 30 received/);
    assert.match((await execa('wg', ['show', a.list()[0]!.wgInterface!, 'peers'])).stdout, new RegExp(third.pub.replace(/[+/]/g, '\\$&')));
  });

  await t.test('another tenant on the same node cannot reach this network', async () => {
    const other = await a.ensure(req({ twin: 8, name: 'net1', workloadId: '8-2-net1', subnet: '10.30.2.0/24', ipRange: '10.30.0.0/16', wireguard: { privateKey: user.priv, listenPort: 4003, peers: [] } }));
    assert.notEqual((await ping(other.namespace, '10.20.2.1')).exitCode, 0);
    const uplinkA = a.list().find((n) => n.twin === 7)!.uplink.replace(/\.\d+\/30$/, (m) => `.${Number(m.slice(1, -3)) + 2}`);
    assert.notEqual((await ping(other.namespace, uplinkA)).exitCode, 0, 'nor its uplink');
    assert.notEqual((await ping(other.namespace, nodeIp(0))).exitCode, 0, 'nor the node itself');
    await a.remove(8, 'net1');
  });

  await t.test('network-light: bridge and .1 without WireGuard, NAT out to the internet', async () => {
    const light = await b.ensure(req({ kind: 'network-light', twin: 9, name: 'light', workloadId: '9-3-light', subnet: '10.50.2.0/24', ipRange: null }));
    assert.match((await execa('ip', ['-n', light.namespace, '-o', 'addr'])).stdout, /private\s+inet 10\.50\.2\.1\/24/);
    assert.doesNotMatch((await execa('ip', ['-n', light.namespace, '-o', '-6', 'addr', 'show', 'dev', 'private'])).stdout, /inet6 (fd|fe80::1\/)/, "no IPv6 of zos' network on a light NR");
    assert.doesNotMatch((await execa('ip', ['-n', light.namespace, '-o', 'link'])).stdout, /w-/);
    assert.equal((await ping(light.namespace, lab.services.ip)).exitCode, 0, 'masqueraded out through the node');
    assert.equal(b.lookup(9, 'light')?.bridge, light.bridge);
    const { tap } = await b.attachTap(9, 'light', '9-4-vm:light');
    assert.match((await execa('ip', ['-n', lab.nodes[1]!.ns, 'link', 'show', tap])).stdout, new RegExp(`master ${light.bridge}`), 'a VM tap joins the NR bridge');
    await b.detachTap(tap);
    await assert.rejects(b.attachTap(9, 'nope', 'x'), /couldn't load network with id/);
    await b.remove(9, 'light');
    assert.doesNotMatch((await execa('ip', ['netns', 'list'])).stdout, new RegExp(light.namespace));
  });

  await t.test('bad input is refused with nothing made', async () => {
    const before = (await execa('ip', ['netns', 'list'])).stdout;
    const bad = (o: Partial<NrRequest>) => a.ensure(req({ name: 'bad', subnet: '10.20.5.0/24', wireguard: { privateKey: k1.priv, listenPort: 4010, peers: [] }, ...o }));
    await assert.rejects(bad({ wireguard: { privateKey: k1.priv, listenPort: 4001, peers: [] } }), /wireguard listen port already in use, pick another one: port 4001 is already in the set/);
    await assert.rejects(bad({ wireguard: { privateKey: k1.priv, listenPort: 80, peers: [] } }), /port 80 is already in the set/);
    await assert.rejects(bad({ wireguard: { privateKey: 'abc', listenPort: 4010, peers: [] } }), /failed to configure wireguard interface: wgtypes: failed to parse base64-encoded key: illegal base64 data at input byte 0/);
    await assert.rejects(bad({ wireguard: { privateKey: Buffer.alloc(31).toString('base64'), listenPort: 4010, peers: [] } }), /wgtypes: incorrect key size: 31/);
    await assert.rejects(bad({ subnet: '10.99.5.0/24' }), /subnet 10\.99\.5\.0\/24 is not inside the network IP range 10\.20\.0\.0\/16/);
    await assert.rejects(bad({ wireguard: { privateKey: k1.priv, listenPort: 4010, peers: [{ publicKey: k2.pub, allowedIps: ['10.20.5.0/25'], endpoint: '' }] } }), /overlaps the network resource subnet/);
    // A port another program holds on the node: wireguard-go cannot bind it; its process goes too.
    const holder = lab.spawn(lab.nodes[0]!, process.execPath, ['-e', "require('dgram').createSocket('udp4').bind(4020, () => console.log('bound'))"]);
    await new Promise((r) => holder.stdout!.once('data', r));
    const wgInNode = async () => {
      const pids = (await execa('ip', ['netns', 'pids', lab.nodes[0]!.ns])).stdout.split('\n').filter(Boolean);
      const cmds = await Promise.all(pids.map((p) => readFile(`/proc/${p}/cmdline`, 'utf8').catch(() => '')));
      return cmds.filter((c) => c.startsWith('wireguard-go')).length;
    };
    const wgBefore = await wgInNode();
    await assert.rejects(bad({ wireguard: { privateKey: k1.priv, listenPort: 4020, peers: [] } }), /failed to configure network resource: failed to configure wireguard interface: .*(in use|Address)/i);
    holder.kill('SIGKILL');
    assert.equal(await wgInNode(), wgBefore, 'no wireguard-go left behind');
    assert.equal((await execa('ip', ['netns', 'list'])).stdout, before);
    assert.equal(a.list().length, 1);
  });

  await t.test('a restarted host adopts running NRs; one whose namespace is gone is rebuilt', async () => {
    const [info] = a.list();
    const again = await hostFor(0, dirs[0]);
    assert.equal(again.list()[0]!.wgPid, info!.wgPid, 'the same wireguard-go, not a second one');
    const wgs = (await execa('pgrep', ['-f', `wireguard-go -f ${info!.wgInterface}`], { reject: false })).stdout.split('\n').filter(Boolean);
    assert.equal(wgs.length, 1);
    // Host reboot: namespaces and processes gone.
    await execa('kill', ['-9', String(info!.wgPid)]);
    await execa('ip', ['netns', 'del', info!.namespace]);
    const third = await hostFor(0, dirs[0]);
    assert.notEqual(third.list()[0]!.wgPid, info!.wgPid);
    assert.equal((await ping(info!.namespace, '10.20.3.1')).exitCode, 0, 'rebuilt and peered again');
    hosts.splice(hosts.indexOf(a), 1, third);
    hosts.splice(hosts.indexOf(again), 1);
  });

  await t.test('remove leaves nothing: namespace, links, rules, wireguard-go, socket', async () => {
    const live = hosts.find((h) => h.list().some((n) => n.namespace === nrA.namespace))!;
    const [info] = live.list();
    await live.remove(7, 'net1');
    assert.doesNotMatch((await execa('ip', ['netns', 'list'])).stdout, new RegExp(nrA.namespace));
    assert.doesNotMatch((await execa('ip', ['-n', lab.nodes[0]!.ns, 'link'])).stdout, /^\d+: [bvuw]-/m);
    assert.equal(await isWireguardGo(info!.wgPid!, info!.wgInterface!), false);
    assert.ok(!(await readdir('/var/run/wireguard').catch((): string[] => [])).includes(`${info!.wgInterface}.sock`));
    assert.deepEqual(live.list(), []);
  });
});

test('wireguard-go listens in the public namespace while the node has one, and follows it when it comes and goes', async (t) => {
  if (!requireHost(t, skip === null, skip ?? '')) return;
  const node = lab.nodes[1]!.ns;
  const pub = `${node}-pub`;
  await execa('ip', ['netns', 'add', pub]);
  t.after(() => execa('ip', ['netns', 'del', pub], { reject: false }));
  let publicNs: string | null = pub;
  const h = await hostFor(1, undefined, () => publicNs);
  const nr = await h.ensure(req({ twin: 8, name: 'pubwg', subnet: '10.30.2.0/24', ipRange: '10.30.0.0/16', wireguard: { privateKey: user.priv, listenPort: 4101, peers: [] } }));
  const identify = async (pid: number) => (await execa('ip', ['netns', 'identify', String(pid)])).stdout.trim();
  const socketIn = async (ns: string) => /wireguard-go/.test((await inNs(ns, 'ss', ['-Hulpn', 'sport', '= :4101'])).stdout);

  const [first] = h.list();
  assert.equal(await identify(first!.wgPid!), pub, 'wireguard-go runs in the public namespace');
  assert.ok(await socketIn(pub), 'its UDP socket is on the public side');
  assert.equal(await socketIn(node), false, 'and not in the node namespace');
  assert.match((await execa('ip', ['-n', nr.namespace, 'link', 'show', first!.wgInterface!])).stdout, /UP/, 'its TUN is in the NR');

  publicNs = null; // the public config is gone
  await h.follow();
  const [second] = h.list();
  assert.notEqual(second!.wgPid, first!.wgPid, 'restarted: a socket cannot move');
  assert.equal(await isWireguardGo(first!.wgPid!, first!.wgInterface!), false, 'the old one is gone');
  assert.equal(await identify(second!.wgPid!), node);
  assert.ok(await socketIn(node), 'back in the node namespace');
  assert.match((await execa('wg', ['show', second!.wgInterface!, 'listen-port'])).stdout, /^4101$/, 'with its keys and port');

  publicNs = pub;
  await h.follow();
  assert.equal(await identify(h.list()[0]!.wgPid!), pub, 'and into the public namespace again');
  await h.remove(8, 'pubwg');
});
