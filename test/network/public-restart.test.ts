import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { silentLogger } from '../../lib/log.ts';
import { NetworkHost, PublicHost, removeStoredNetworks, removeStoredPublic, type NrRequest, type PublicSetup } from '../../node/host/network/index.ts';
import { configureWireguard, isWireguardGo, startWireguardGo, stopWireguardGo } from '../../node/host/network/wireguard.ts';
import { setFailpoints } from '../../lib/failpoints.ts';
import { requireHost } from '../helpers/host.ts';
import { Lab, labSupported, nodeIp, wgKeyPair } from '../helpers/lab.ts';
import { addUpstreamRouter, FARM_NET } from '../helpers/lab-public.ts';

// A node restart while the node has a public config, at the host layer: PublicHost and
// NetworkHost over the same state, started in the order node/host/index.ts starts them, then
// given the chain's public config as node.ts does. A laptop in the lab dials the NR's
// wireguard-go at the node's public IP (through the farm's router) and pings across the tunnel.

let lab: Lab;
let dir = '';
let skip: string | null = null;
const laptopWg = `wl${process.pid.toString(36)}${Math.random().toString(36).slice(2, 5)}`;
let laptopPid: number | undefined;

before(async () => {
  skip = await labSupported();
  if (!skip && (await execa('sh', ['-c', 'command -v wireguard-go && command -v wg && command -v nft'], { reject: false })).exitCode !== 0) {
    skip = 'wireguard-go, wireguard-tools and nftables are needed';
  }
  if (skip) return;
  lab = await new Lab().start({ nodes: 1 });
  await addUpstreamRouter(lab);
  dir = await mkdtemp(join(tmpdir(), 'zos-pubrestart-'));
});

after(async () => {
  await stopWireguardGo(laptopPid, laptopWg);
  if (dir) {
    await removeStoredNetworks(join(dir, 'network'), silentLogger()).catch(() => undefined);
    await removeStoredPublic(join(dir, 'network'), silentLogger()).catch(() => undefined);
  }
  await lab?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const nrKey = wgKeyPair();
const laptopKey = wgKeyPair();
const setup: PublicSetup = { ipv4: FARM_NET.node.ip4.ip, gw4: FARM_NET.gw4, ipv6: null, gw6: null, domain: null };
const PORT = 4201;
// The laptop is an access peer: it dials in, so the NR knows no endpoint for it (as GridClient's addAccess).
const nr: NrRequest = {
  kind: 'network', twin: 7, name: 'acc', workloadId: '7-1-acc', subnet: '10.30.2.0/24', ipRange: '10.30.0.0/16',
  wireguard: { privateKey: nrKey.priv, listenPort: PORT, peers: [{ publicKey: laptopKey.pub, allowedIps: ['100.64.30.9/32'], endpoint: '' }] },
};

/** The host services of one node run, started as startHosts does; `following` is the follow() a public change set off. */
async function startNode(): Promise<{ pub: PublicHost; net: NetworkHost; restored: { adopted: number; rebuilt: number }; following: () => Promise<void> }> {
  const o = { dataDir: join(dir, 'network'), hostNs: lab.nodes[0]!.ns, log: silentLogger() };
  const pub = new PublicHost(o);
  await pub.start();
  const net = new NetworkHost({ ...o, publicNs: () => pub.namespace() });
  const restored = await net.start();
  let followed = Promise.resolve();
  pub.onChange(() => (followed = net.follow()));
  return { pub, net, restored, following: () => followed };
}

const identify = async (pid: number) => (await execa('ip', ['netns', 'identify', String(pid)])).stdout.trim();
const socketIn = async (ns: string) => /wireguard-go/.test((await execa('ip', ['netns', 'exec', ns, 'ss', '-Hulpn', 'sport', `= :${PORT}`])).stdout);
const tunnelPing = (count = 1) => lab.exec(lab.laptop, 'ping', ['-c', String(count), '-i', '0.2', '-W', '2', '10.30.2.1'], { reject: false });
/** The first ping after a change may wait for a handshake: a few tries. */
async function tunnelPasses(): Promise<boolean> {
  for (let i = 0; i < 5; i++) if ((await tunnelPing()).exitCode === 0) return true;
  return false;
}

/** wireguard-go in the laptop's namespace, dialling `endpoint`, with 100.64.30.9 and a route to the network. */
async function laptopDials(endpoint: string): Promise<void> {
  const ns = lab.laptop.ns;
  if (laptopPid === undefined) {
    laptopPid = await startWireguardGo({ iface: laptopWg, ns, logFile: join(dir, 'laptop-wg.log') });
    await execa('ip', ['-n', ns, 'addr', 'add', '100.64.30.9/32', 'dev', laptopWg]);
    await execa('ip', ['-n', ns, 'link', 'set', laptopWg, 'up']);
    await execa('ip', ['-n', ns, 'route', 'add', '10.30.0.0/16', 'dev', laptopWg, 'src', '100.64.30.9']);
  }
  await configureWireguard(laptopWg, { privateKey: laptopKey.priv, listenPort: 51820, peers: [{ publicKey: nrKey.pub, allowedIps: ['10.30.0.0/16', '100.64.0.0/16'], endpoint }] }, dir);
}

test('a node restarted with a public config adopts its networks where they are; one whose config went while it was down moves them back', async (t) => {
  if (!requireHost(t, skip === null, skip ?? '')) return;
  const node = lab.nodes[0]!.ns;
  const first = await startNode();
  await first.pub.setExitNic('eth1');
  await first.pub.apply(setup);
  await first.following();
  const pubNs = first.pub.namespace()!;
  const att = await first.net.ensure(nr);
  await laptopDials(`${FARM_NET.node.ip4.ip.split('/')[0]}:${PORT}`);
  assert.ok(await tunnelPasses(), 'the laptop reaches the NR through wireguard-go at the public IP');
  const [before] = first.net.list();
  assert.equal(await identify(before!.wgPid!), pubNs);
  /** wireguard-go processes serving this NR, under either of its two interface names. */
  const wgGoCount = async () => (await execa('pgrep', ['-a', 'wireguard-go'], { reject: false })).stdout.split('\n').filter((l) => l.includes(` ${before!.wgInterface!.slice(0, -1)}`)).length;

  await t.test('restart with the same public config: the same wireguard-go, socket in the public namespace, TUN in the NR, no packet lost', async () => {
    // A record from an older node names no namespace: where wireguard-go runs is read from the process.
    const file = join(dir, 'network', 'nrs', (await readdir(join(dir, 'network', 'nrs'))).find((f) => f.endsWith('.json'))!);
    const rec = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    delete rec.wgNs;
    await writeFile(file, JSON.stringify(rec));
    const pinger = tunnelPing(25);
    await new Promise((r) => setTimeout(r, 400));
    const again = await startNode();
    assert.deepEqual(again.restored, { adopted: 1, rebuilt: 0 });
    await again.pub.apply(setup); // node.ts, from the chain's public config
    await again.following();
    const [now] = again.net.list();
    assert.equal(now!.wgPid, before!.wgPid, 'not restarted');
    assert.equal(await identify(now!.wgPid!), pubNs, 'wireguard-go still in the public namespace');
    assert.ok(await socketIn(pubNs), 'its UDP socket on the public side');
    assert.equal(await socketIn(node), false, 'none in the node namespace');
    assert.match((await execa('ip', ['-n', att.namespace, 'link', 'show', now!.wgInterface!])).stdout, /UP/, 'its TUN in the NR');
    assert.match((await pinger).stdout, /25 packets transmitted, 25 received/, 'the tunnel carried traffic throughout');
  });

  await t.test('the public config removed while the node was down: wireguard-go moves to the node namespace; a failed move keeps the old one; the config back: moved in beside it, a leftover cleared', async () => {
    // The node is down; the chain drops the public config; the node starts with the saved one, then is told.
    const third = await startNode();
    assert.deepEqual(third.restored, { adopted: 1, rebuilt: 0 }, 'at first adopted under the saved config');
    await third.pub.apply(null);
    await third.following();
    const [now] = third.net.list();
    assert.notEqual(now!.wgPid, before!.wgPid, 'restarted: a socket cannot move');
    assert.equal(await isWireguardGo(before!.wgPid!, before!.wgInterface!), false, 'the old one is gone');
    assert.equal(await identify(now!.wgPid!), node);
    assert.ok(await socketIn(node), 'its UDP socket in the node namespace');
    assert.equal((await execa('ip', ['netns', 'list'])).stdout.includes(pubNs), false, 'the public namespace is gone');
    assert.match((await execa('wg', ['show', now!.wgInterface!, 'listen-port'])).stdout, /^4201$/);
    // The public IP went with the config; the new wireguard-go handshakes the laptop at the address
    // it came from, and the laptop roams to the node's own address without being told.
    assert.ok(await tunnelPasses(), 'the tunnel passes traffic again');
    assert.match((await execa('wg', ['show', laptopWg, 'endpoints'])).stdout, new RegExp(`${nodeIp(0).replace(/\./g, '\\.')}:${PORT}`));
    const fourth = await startNode();
    assert.deepEqual(fourth.restored, { adopted: 1, rebuilt: 0 }, 'and a further restart adopts it in the node namespace');
    assert.equal(fourth.net.list()[0]!.wgPid, now!.wgPid);

    // A move that fails once the new one runs and the old one is muted: the old one is restored and
    // serves on, nothing of the new one is left.
    setFailpoints('network.wg-move.muted=error(injected)');
    try {
      await fourth.pub.apply(setup);
      await fourth.following();
    } finally {
      setFailpoints('');
    }
    assert.deepEqual(fourth.net.list().map((n) => [n.wgPid, n.wgInterface]), [[now!.wgPid, now!.wgInterface]], 'the old one kept');
    assert.equal(await identify(now!.wgPid!), node);
    assert.equal(await wgGoCount(), 1, 'no second wireguard-go left');
    assert.ok(await tunnelPasses(), 'the tunnel passes traffic through the restored one');
    await fourth.pub.apply(null);
    await fourth.following();

    // A leftover of a move cut short by a kill -9 (the other name's wireguard-go, its TUN in the NR) is cleared.
    const other = before!.wgInterface!; // the NR's first name: the move takes it back
    assert.notEqual(other, now!.wgInterface);
    const stray = await startWireguardGo({ iface: other, ns: node, logFile: join(dir, 'stray.log') });
    await execa('ip', ['-n', node, 'link', 'set', other, 'netns', att.namespace]);

    // The config comes back while the node runs: follow() moves wireguard-go into the public namespace.
    const pinger = lab.exec(lab.laptop, 'ping', ['-c', '400', '-i', '0.01', '-W', '1', '10.30.2.1'], { reject: false });
    await new Promise((r) => setTimeout(r, 1000));
    const t0 = performance.now();
    await fourth.pub.apply(setup);
    await fourth.following();
    const moveMs = performance.now() - t0;
    const out = (await pinger).stdout;
    const received = Number(/(\d+) received/.exec(out)?.[1] ?? 0);
    t.diagnostic(`follow() moved wireguard-go in ${moveMs.toFixed(0)} ms; pings every 10 ms lost: ${400 - received}`);
    // The old one serves until the new one has handshaked the laptop (measured: 1-2 pings lost at
    // load 8-10; a restart lost 13-19). A bound, not a goal: a peer roamed back to a stopped one would lose seconds.
    assert.ok(400 - received < 100, `the tunnel was never down for a second (${400 - received} lost)`);
    const [moved] = fourth.net.list();
    assert.equal(moved!.wgInterface, other, 'a second wireguard-go took over under the other name');
    assert.equal(await isWireguardGo(stray, other), false, 'the leftover is gone');
    assert.equal(await isWireguardGo(now!.wgPid!, now!.wgInterface!), false, 'the old one is gone');
    assert.equal(await identify(moved!.wgPid!), fourth.pub.namespace());
    assert.ok(await tunnelPasses(), 'the tunnel passes traffic through the public namespace again');
    assert.match((await execa('wg', ['show', laptopWg, 'endpoints'])).stdout, new RegExp(`185\\.206\\.122\\.10:${PORT}`), 'the laptop roamed to the public IP');
  });
});
