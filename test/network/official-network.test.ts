import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mnemonicGenerate } from '@polkadot/util-crypto';
import { execa } from 'execa';
import { startWireguardGo, stopWireguardGo, isWireguardGo } from '../../node/host/network/wireguard.ts';
import { waitFor } from '../helpers/grid.ts';
import { requireHost } from '../helpers/host.ts';
import { LabGrid, type LabNode } from '../helpers/lab-grid.ts';
import { labSupported } from '../helpers/lab.ts';
import { LineAgent } from '../helpers/line-agent.ts';
import { decodeLikeGridClient, Deployment, muteClientChatter, Znet, SignatureRequest, SignatureRequirement, TC_HASH, TC_LINK, TfchainClient, Workload, type OfficialChain } from '../compat/helpers.ts';

/**
 * One user network spanning two nodes, end to end with the official clients: grid_client's own
 * Network class (its addNode/addAccess/generatePeers/getWireguardConfig code, with only its
 * gridproxy and RMB lookups answered from the lab) builds the network workloads and the access
 * config; its Deployment class signs; tfchain_client makes the contracts; rmb_direct_client, run
 * in the lab's laptop namespace, deploys. Then the user's laptop joins with wireguard-go.
 */

const require = createRequire(import.meta.url);
const gridNetwork = require(join(dirname(require.resolve('@threefold/grid_client')), 'primitives', 'network.js')) as { Network: { prototype: object } };
const PUBLIC = ['185.206.122.7', '185.206.122.8']; // public-looking, for grid_client's access-node filter; lab only
const MARKER = 'c0ffee0ddba11c0ffee0ddba11c0ffee';

let skip: string | null = null;
let grid: LabGrid | null = null;
let nodes: LabNode[] = [];
let chain: OfficialChain | null = null;
let agent: LineAgent | null = null;
let twinId = 0;
let laptopWg: { pid: number; iface: string } | null = null;
const mnemonic = mnemonicGenerate();
const unmute = muteClientChatter();

/** One request through the official RMB client in the laptop namespace. */
function rmb<T = unknown>(twin: number, cmd: string, payload?: unknown): Promise<T> {
  return agent!.request<T>({ twin, cmd, payload });
}

before(async () => {
  skip = await labSupported();
  if (!skip && (await execa('sh', ['-c', 'command -v wireguard-go && command -v wg && command -v nft && command -v tcpdump && command -v openssl'], { reject: false })).exitCode !== 0) {
    skip = 'wireguard-go, wireguard-tools, nftables, tcpdump and openssl are needed';
  }
  if (skip) return;
  const g = (grid = await new LabGrid().start({ nodes: 2, publicIps: { 0: PUBLIC[0]!, 1: PUBLIC[1]! }, relayTls: true }));
  // The two nodes and the user (chain set-up, then the RMB agent) need nothing from each other: at once.
  [nodes] = await Promise.all([
    Promise.all([g.startNode(0), g.startNode(1)]),
    (async () => {
      const c = (chain = new TfchainClient({ url: g.chainUrl, mnemonicOrSecret: mnemonic, keypairType: 'sr25519' }));
      await c.connect();
      const res = await fetch(g.activationUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ substrateAccountID: c.address }) });
      assert.ok(res.ok, `faucet: ${res.status}`);
      await waitFor(async () => BigInt((await c.balances.getMyBalance()).free) > 0n, 'user funded', 30_000);
      await (await c.termsAndConditions.accept({ documentLink: TC_LINK, documentHash: TC_HASH })).apply();
      twinId = (await (await c.twins.create({ relay: g.lab.services.ip, pk: null })).apply()).id;
      // the official RMB client in the laptop namespace (it needs the twin)
      const proc = g.lab.spawn(g.lab.laptop, process.execPath, ['--import', 'tsx', join(dirname(fileURLToPath(import.meta.url)), 'rmb-agent.ts'), g.inside.chain, g.inside.relay, mnemonic],
        { env: { NODE_EXTRA_CA_CERTS: g.certPath }, stdin: 'pipe' });
      ({ agent } = await LineAgent.start(proc));
    })(),
  ]);
});

after(async () => {
  if (laptopWg) await stopWireguardGo(laptopWg.pid, laptopWg.iface);
  agent?.close();
  await chain?.disconnect().catch(() => undefined);
  await grid?.close();
  unmute();
});

/** The NR namespaces a lab node made (its uplink veths name them). */
async function nrNamespaces(node: LabNode): Promise<string[]> {
  const links = (await execa('ip', ['-n', node.host.ns, '-o', 'link'])).stdout;
  return [...links.matchAll(/link-netns (n-\S+)/g)].map((m) => m[1]!).filter((v, i, a) => a.indexOf(v) === i);
}
const inNs = (ns: string, cmd: string, args: string[]) => execa('ip', ['netns', 'exec', ns, cmd, ...args], { reject: false });

/** grid_client's Network, with its gridproxy and RMB lookups answered from the lab. */
function officialNetwork(name: string): any {
  const net = Object.create(gridNetwork.Network.prototype);
  Object.assign(net, {
    name, ipRange: '10.20.0.0/16', nodes: [], deployments: [], reservedSubnets: [], networks: [], accessPoints: [], userAccesses: [], _accessNodes: [],
    config: { twinId },
    // What grid_client reads from public_config_get for each node (its ipv4), and its gridproxy access-node list.
    _endpoints: Object.fromEntries(nodes.map((n, i) => [n.nodeId, PUBLIC[i]])),
    capacity: {
      getNodeTwinId: async (id: number) => nodes.find((n) => n.nodeId === id)!.twinId,
      getNode: async () => ({ features: (await rmb<string[]>(nodes[0]!.twinId, 'zos.system.node_features_get')) }),
      getAccessNodes: async () => Object.fromEntries(nodes.map((n, i) => [n.nodeId, { ipv4: `${PUBLIC[i]}/24` }])),
    },
    rmb: { request: ([twin]: number[], cmd: string, payload: string) => rmb(twin!, cmd, payload === '' ? undefined : JSON.parse(payload)) },
  });
  return net;
}

async function deploy(node: LabNode, workload: any): Promise<number> {
  const req = Object.assign(new SignatureRequest(), { twin_id: twinId, weight: 1, required: false });
  const sr = Object.assign(new SignatureRequirement(), { weight_required: 1, requests: [req] });
  const dl = Object.assign(new Deployment(), { version: 0, metadata: '', description: 'net', twin_id: twinId, expiration: 0, signature_requirement: sr, workloads: [workload] });
  const data = JSON.stringify({ version: 3, type: 'network', name: workload.name, projectName: '' });
  const [contract] = await chain.applyAllExtrinsics([await chain.contracts.createNode({ nodeId: node.nodeId, hash: dl.challenge_hash(), data, numberOfPublicIps: 0 })]);
  dl.contract_id = contract.contractId;
  await dl.sign(twinId, mnemonic, 'sr25519');
  assert.equal(await rmb(node.twinId, 'zos.deployment.deploy', JSON.parse(JSON.stringify(dl))), null);
  return dl.contract_id;
}

async function states(node: LabNode, contract: number): Promise<Array<[string, string, string]>> {
  const got = await rmb<{ workloads: Array<{ name: string; result: { state: string; message: string } }> }>(node.twinId, 'zos.deployment.get', { contract_id: contract });
  return got.workloads.map((w) => [w.name, w.result.state, w.result.message]);
}

function ready(t: TestContext): boolean {
  return requireHost(t, skip === null && grid !== null, skip ?? 'lab grid not started');
}

const contracts: number[] = [];
let wgConfig = '';
let officialNet: any = null;

test('grid_client builds a network over two nodes and an access point; both deploy through the official RMB client', { timeout: 300_000 }, async (t) => {
  if (!ready(t)) return;
  const net = (officialNet = officialNetwork('labnet'));
  const workloads = [await net.addNode(nodes[0]!.nodeId), await net.addNode(nodes[1]!.nodeId)];
  wgConfig = await net.addAccess(nodes[0]!.nodeId, true);
  assert.match(wgConfig, new RegExp(`Endpoint = ${PUBLIC[0]!.replace(/\./g, '\\.')}:\\d+`));
  for (const [i, n] of nodes.entries()) {
    const wl = net.updateWorkload(n.nodeId, Object.assign(new Workload(), workloads[i]));
    contracts.push(await deploy(n, wl));
  }
  for (const [i, n] of nodes.entries()) {
    let last: Array<[string, string, string]> = [];
    await waitFor(async () => (last = await states(n, contracts[i]!)).every(([, s]) => s === 'ok'), `network ok on node ${n.nodeId} (${JSON.stringify(last)})`, 120_000, 500);
  }
  const ports = await rmb<number[]>(nodes[0]!.twinId, 'zos.network.list_wg_ports');
  assert.ok(ports.includes(net.getNodeWGListeningPort(nodes[0]!.nodeId)), `list_wg_ports ${JSON.stringify(ports)} holds the NR port`);
  const [ns1] = await nrNamespaces(nodes[0]!);
  const [ns2] = await nrNamespaces(nodes[1]!);
  assert.ok(ns1 && ns2, 'each node built its NR');
  assert.equal((await inNs(ns1!, 'ping', ['-c1', '-W3', '10.20.3.1'])).exitCode, 0, 'NR 1 reaches NR 2 through WireGuard');
  assert.equal((await inNs(ns2!, 'ping', ['-c1', '-W3', '10.20.2.1'])).exitCode, 0, 'NR 2 reaches NR 1 through WireGuard');
});

test('the laptop joins with the access config grid_client wrote; no plaintext on the internet bridge', { timeout: 120_000 }, async (t) => {
  if (!ready(t) || !wgConfig) return;
  const lab = grid!.lab;
  const iface = `${lab.id}wg`.slice(0, 15);
  const address = /Address = (\S+)/.exec(wgConfig)![1]!;
  const allowed = /AllowedIPs = (.+)/.exec(wgConfig)![1]!.split(',').map((s) => s.trim());
  const pid = await startWireguardGo({ iface, ns: lab.laptop.ns, logFile: join(lab.dir, 'laptop-wg.log') });
  laptopWg = { pid, iface };
  const conf = join(lab.dir, 'laptop.conf');
  await execa('sh', ['-c', `grep -v '^Address' > ${conf}`], { input: wgConfig });
  await execa('wg', ['setconf', iface, conf]);
  await lab.exec(lab.laptop, 'ip', ['addr', 'add', address, 'dev', iface]);
  await lab.exec(lab.laptop, 'ip', ['link', 'set', iface, 'up']);
  for (const a of allowed) await lab.exec(lab.laptop, 'ip', ['route', 'add', a, 'dev', iface]);

  const cap = await lab.capture();
  const toGw1 = await lab.exec(lab.laptop, 'ping', ['-c2', '-W3', '-p', MARKER, '10.20.2.1'], { reject: false });
  const toGw2 = await lab.exec(lab.laptop, 'ping', ['-c2', '-W3', '-p', MARKER, '10.20.3.1'], { reject: false });
  const tunnelled = await cap.stop();
  assert.equal(toGw1.exitCode, 0, `laptop -> NR 1 gateway: ${toGw1.stdout}`);
  assert.equal(toGw2.exitCode, 0, `laptop -> NR 2 gateway (through the access node): ${toGw2.stdout}`);
  const marker = Buffer.from(MARKER, 'hex');
  assert.ok(tunnelled.length > 200, 'the capture saw the tunnel traffic');
  assert.equal(tunnelled.indexOf(marker), -1, 'no plaintext marker on the internet bridge');
  // Control: the same marker sent outside the tunnel is seen by the same capture.
  const plain = await lab.capture();
  await lab.exec(lab.laptop, 'ping', ['-c1', '-W3', '-p', MARKER, nodes[0]!.host.ip], { reject: false });
  assert.notEqual((await plain.stop()).indexOf(marker), -1, 'the capture does see plaintext');
});

test('live peer update: a second access point is added on node 2 the way grid_client updates; traffic through the first keeps flowing', { timeout: 180_000 }, async (t) => {
  if (!ready(t) || !laptopWg) return;
  const lab = grid!.lab;
  const pinger = lab.exec(lab.laptop, 'ping', ['-c', '40', '-i', '0.2', '-W', '2', '10.20.3.1'], { reject: false });
  await officialNet.addAccess(nodes[1]!.nodeId, true);
  for (const [i, n] of nodes.entries()) {
    const got = await rmb(n.twinId, 'zos.deployment.get', { contract_id: contracts[i]! });
    const { deployment: next, errors } = await decodeLikeGridClient(got);
    assert.deepEqual(errors, []);
    const wl = next.workloads[0];
    officialNet.updateWorkload(n.nodeId, wl);
    wl.version = next.version + 1;
    next.version += 1;
    await next.sign(twinId, mnemonic, 'sr25519');
    await chain.applyAllExtrinsics([await chain.contracts.updateNode({ id: contracts[i]!, hash: next.challenge_hash(), data: '' })]);
    assert.equal(await rmb(n.twinId, 'zos.deployment.update', JSON.parse(JSON.stringify(next))), null);
  }
  for (const [i, n] of nodes.entries()) {
    let last: Array<[string, string, string]> = [];
    await waitFor(async () => {
      const got = await rmb<{ version: number }>(n.twinId, 'zos.deployment.get', { contract_id: contracts[i]! });
      last = await states(n, contracts[i]!);
      return got.version === 1 && last.every(([, st]) => st === 'ok');
    }, `version 1 ok on node ${n.nodeId} (${JSON.stringify(last)})`, 60_000, 500);
  }
  const [ns2] = await nrNamespaces(nodes[1]!);
  const wg2 = (await execa('ip', ['-n', ns2!, '-o', 'link'])).stdout.match(/(w-\S+?):/)![1]!;
  assert.equal((await execa('wg', ['show', wg2, 'peers'])).stdout.trim().split('\n').length, 2, 'node 2 has node 1 and the new access point as peers');
  const out = (await pinger).stdout;
  assert.match(out, / 0% packet loss/, `no loss while both NRs were updated: ${out.split('\n').slice(-3).join(' ')}`);
});

test('bad input through the official path: a taken port and a subnet outside the range fail per workload, nothing half-made', { timeout: 120_000 }, async (t) => {
  if (!ready(t) || contracts.length < 2) return;
  const node = nodes[0]!;
  const before = await nrNamespaces(node);
  const taken = (await rmb<number[]>(node.twinId, 'zos.network.list_wg_ports')).at(-1)!;
  const bad = async (name: string, data: Record<string, unknown>, want: RegExp) => {
    const znet = Object.assign(new Znet(), { subnet: '10.40.2.0/24', ip_range: '10.40.0.0/16', wireguard_private_key: Buffer.alloc(32, 7).toString('base64'), wireguard_listen_port: 20000 + Math.floor(Math.random() * 1000), peers: [], ...data });
    const contract = await deploy(node, Object.assign(new Workload(), { version: 0, name, type: 'network', data: znet, metadata: '', description: '' }));
    let last: Array<[string, string, string]> = [];
    await waitFor(async () => (last = await states(node, contract))[0]![1] === 'error', `${name} in error (${JSON.stringify(last)})`, 60_000, 500);
    assert.match(last[0]![2], want);
    await (await chain.contracts.cancel({ id: contract })).apply();
  };
  await bad('badport', { wireguard_listen_port: taken }, new RegExp(`^failed to create network resource for network ${twinId}-\\d+-badport: wireguard listen port already in use, pick another one: port ${taken} is already in the set$`));
  await bad('badsubnet', { subnet: '10.99.2.0/24' }, /network resource subnet 10\.99\.2\.0\/24 is not inside the network IP range 10\.40\.0\.0\/16/);
  await bad('badkey', { wireguard_private_key: 'not-a-key' }, /failed to configure network resource: failed to configure wireguard interface: wgtypes: failed to parse base64-encoded key: illegal base64 data at input byte 3/);
  assert.deepEqual(await nrNamespaces(node), before);
});

test('kill -9 of the node: NRs and wireguard-go adopted, not doubled, and still carrying traffic', { timeout: 180_000 }, async (t) => {
  if (!ready(t) || contracts.length < 2) return;
  const node = nodes[0]!;
  const wgBefore = (await execa('pgrep', ['-f', 'wireguard-go -f w-'], { reject: false })).stdout.split('\n').filter(Boolean);
  await node.kill('SIGKILL');
  nodes[0] = await grid!.startNode(0, { dataDir: node.dataDir });
  const wgAfter = (await execa('pgrep', ['-f', 'wireguard-go -f w-'], { reject: false })).stdout.split('\n').filter(Boolean);
  assert.deepEqual(wgAfter.sort(), wgBefore.sort(), 'the same wireguard-go processes');
  let last: Array<[string, string, string]> = [];
  await waitFor(async () => (last = await states(nodes[0]!, contracts[0]!)).every(([, s]) => s === 'ok'), `still ok (${JSON.stringify(last)})`, 60_000, 500);
  const [ns1] = await nrNamespaces(nodes[0]!);
  assert.equal((await inNs(ns1!, 'ping', ['-c1', '-W3', '10.20.3.1'])).exitCode, 0);
});

test('cancel: the NR, its links, rules and wireguard-go are gone', { timeout: 180_000 }, async (t) => {
  if (!ready(t) || contracts.length < 2) return;
  const node = nodes[1]!;
  const [ns] = await nrNamespaces(node);
  const wg = (await execa('ip', ['-n', ns!, '-o', 'link'])).stdout.match(/(w-\S+?):/)![1]!;
  const pid = Number((await execa('pgrep', ['-f', `wireguard-go -f ${wg}`])).stdout.trim());
  await (await chain.contracts.cancel({ id: contracts[1]! })).apply();
  await waitFor(async () => !(await execa('ip', ['netns', 'list'])).stdout.includes(ns!), 'NR namespace removed', 90_000, 500);
  assert.equal(await isWireguardGo(pid, wg), false);
  assert.doesNotMatch((await execa('ip', ['-n', node.host.ns, '-o', 'link'])).stdout, /[buv]-\S+:/, 'bridge and veths gone');
  assert.deepEqual(await nrNamespaces(node), []);
});
