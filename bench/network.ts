/**
 * A TCP stream between two network resources over WireGuard (wireguard-go, userspace) against,
 * in one run, the same stream over the plain veth path underneath (lab node to lab node) and over
 * a bare wireguard-go tunnel between the same two lab nodes (an interface each, no NR around it).
 * Two NRs on two lab node namespaces are built by the node's own host layer (NetworkHost), the
 * same code a deployment runs. iperf3 measures each direction-less stream for a few seconds.
 * Usage: node --import tsx bench/network.ts [--seconds 5]
 * The last line holds the ratios, with PASS/MISS against the goal below.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { silentLogger } from '../lib/log.ts';
import { NetworkHost } from '../node/host/network/index.ts';
import { addrEnsure, ip } from '../node/host/network/ip.ts';
import { configureWireguard, startWireguardGo, stopWireguardGo } from '../node/host/network/wireguard.ts';
import { Lab, labSupported, nodeIp, wgKeyPair, type LabHost } from '../test/helpers/lab.ts';

/**
 * wireguard-go encrypts in user space on a 2-core machine; the goal is a tenth of the veth path.
 * The bare tunnel's share of the veth path shows how much of that wireguard-go itself allows, and
 * the NR's share of the bare tunnel what our network resource around it costs (printed, no goal:
 * it moves by +-10% between runs, with both wireguard-go processes and iperf3's two ends on 2 cores).
 */
const GOAL_RATIO = 0.1;
const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 5;

const why = await labSupported();
if (why) {
  console.log(`SKIP bench/network: ${why}`);
  process.exit(0);
}

/** Gbit/s of one iperf3 TCP stream from namespace `from` to a server at `to` in namespace `serverNs`. */
async function stream(serverNs: string, from: string, to: string): Promise<number> {
  const server = execa('ip', ['netns', 'exec', serverNs, 'iperf3', '-s', '-1', '-B', to, '-p', '5201'], { reject: false });
  await sleep(300);
  const r = await execa('ip', ['netns', 'exec', from, 'iperf3', '-c', to, '-p', '5201', '-t', String(seconds), '-J']);
  await server;
  const bps = (JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received.bits_per_second;
  return bps / 1e9;
}

/**
 * A bare wireguard-go tunnel between lab nodes 0 and 1 (198.19.250.1 and .2), started and
 * configured by the node's own wireguard helpers, with no NR, bridge or rules around it.
 * Returns the wireguard-go pids (stopped in the finally below).
 */
async function bareTunnel(nodes: LabHost[], dir: string): Promise<number[]> {
  const keys = [wgKeyPair(), wgKeyPair()];
  const pids: number[] = [];
  for (const i of [0, 1]) {
    const ns = nodes[i]!.ns;
    const iface = bareIface(i);
    pids.push(await startWireguardGo({ iface, ns, logFile: join(dir, `${iface}.log`) }));
    await configureWireguard(iface, { privateKey: keys[i]!.priv, listenPort: 4101 + i, peers: [{ publicKey: keys[1 - i]!.pub, allowedIps: [`198.19.250.${2 - i}/32`], endpoint: `${nodeIp(1 - i)}:${4102 - i}` }] }, dir);
    await addrEnsure(ns, iface, `198.19.250.${i + 1}/24`);
    await ip(ns, ['link', 'set', iface, 'up']);
  }
  await execa('ip', ['netns', 'exec', nodes[0]!.ns, 'ping', '-c1', '-W3', '198.19.250.2']);
  return pids;
}
/** Interface names are host-wide: wireguard-go's control socket is /var/run/wireguard/<name>.sock. */
const bareIface = (i: number) => `wgbare${i}`;

const lab = await new Lab().start({ nodes: 2 });
const dirs: string[] = [];
const hosts: NetworkHost[] = [];
const barePids: number[] = [];
try {
  const host = async (h: LabHost) => {
    const dir = await mkdtemp(join(tmpdir(), 'zos-bench-net-'));
    dirs.push(dir);
    const nh = new NetworkHost({ dataDir: dir, hostNs: h.ns, log: silentLogger() });
    await nh.start();
    hosts.push(nh);
    return nh;
  };
  const [a, b] = [await host(lab.nodes[0]!), await host(lab.nodes[1]!)];
  const [ka, kb] = [wgKeyPair(), wgKeyPair()];
  const base = { kind: 'network' as const, twin: 1, name: 'bench', workloadId: '1-1-bench', ipRange: '10.20.0.0/16' };
  const nrA = await a.ensure({ ...base, subnet: '10.20.2.0/24', wireguard: { privateKey: ka.priv, listenPort: 4001, peers: [{ publicKey: kb.pub, allowedIps: ['10.20.3.0/24', '100.64.20.3/32'], endpoint: `${nodeIp(1)}:4002` }] } });
  const nrB = await b.ensure({ ...base, subnet: '10.20.3.0/24', wireguard: { privateKey: kb.priv, listenPort: 4002, peers: [{ publicKey: ka.pub, allowedIps: ['10.20.2.0/24', '100.64.20.2/32'], endpoint: `${nodeIp(0)}:4001` }] } });
  await execa('ip', ['netns', 'exec', nrA.namespace, 'ping', '-c1', '-W3', '10.20.3.1']);

  const bareDir = await mkdtemp(join(tmpdir(), 'zos-bench-wg-'));
  dirs.push(bareDir);
  barePids.push(...(await bareTunnel(lab.nodes, bareDir)));

  const plain = await stream(lab.nodes[1]!.ns, lab.nodes[0]!.ns, nodeIp(1));
  const bare = await stream(lab.nodes[1]!.ns, lab.nodes[0]!.ns, '198.19.250.2');
  const wg = await stream(nrB.namespace, nrA.namespace, '10.20.3.1');
  const ratio = wg / plain;
  console.log(`plain veth (lab node -> lab node):          ${plain.toFixed(2)} Gbit/s`);
  console.log(`bare wireguard-go tunnel (lab node -> node): ${bare.toFixed(2)} Gbit/s`);
  console.log(`WireGuard NR -> NR (wireguard-go):           ${wg.toFixed(2)} Gbit/s`);
  console.log(
    `RESULT network: wireguard/veth ${ratio.toFixed(3)} (goal >= ${GOAL_RATIO}) ${ratio >= GOAL_RATIO ? 'PASS' : 'MISS'} | bare tunnel/veth ${(bare / plain).toFixed(3)}, NR/bare tunnel ${(wg / bare).toFixed(2)}`,
  );
} finally {
  await Promise.all(barePids.map((pid, i) => stopWireguardGo(pid, bareIface(i))));
  for (const h of hosts) for (const nr of h.list()) await h.remove(nr.twin, nr.name).catch(() => undefined);
  await lab.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
}
