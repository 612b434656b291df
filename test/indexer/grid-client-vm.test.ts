import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Keyring } from '@polkadot/keyring';
import { mnemonicGenerate } from '@polkadot/util-crypto';
import { execa } from 'execa';
import { readFile, writeFile } from 'node:fs/promises';
import { fundFromFaucet } from '../../bin/grid/faucet.ts';
import { silentLogger } from '../../lib/log.ts';
import { startWireguardGo, stopWireguardGo } from '../../node/host/network/wireguard.ts';
import { rmb } from '../helpers/deployments.ts';
import { BIN, createGridUser, waitFor } from '../helpers/grid.ts';
import { requireHost } from '../helpers/host.ts';
import type { LabGrid, LabNode } from '../helpers/lab-grid.ts';
import { SERVICES_IP, waitOutput } from '../helpers/lab.ts';
import { addUpstreamRouter, FARM_NET } from '../helpers/lab-public.ts';
import { LineAgent } from '../helpers/line-agent.ts';
import { processesWith, startVmLab, type VmLab } from '../vm/fixtures.ts';

/**
 * The whole local grid with the unmodified official `GridClient` (network `dev`, all five URLs at
 * the lab's services: devnet, relay on wss://198.18.0.2/, indexer with REST + GraphQL + KYC over
 * https, faucet), run as a user would in the lab's laptop namespace (grid-client-agent.ts):
 * `machines.deploy` of a VM with a network (addAccess: true) and a disk on a lab node ->
 * `machines.getObj` shows it with its IP -> the laptop brings up the returned WireGuard config and
 * reaches the VM through the node's public IP (a farm network inside the lab, lab-public.ts) ->
 * `networks.list` -> `machines.delete`: its contracts are gone on chain, in the indexer and on the node.
 */
const INDEXER = `https://${SERVICES_IP}:8081`;
const IMAGES = `http://${SERVICES_IP}:8099`;

let agent: LineAgent | null = null;
let lab: LabGrid['lab'] | null = null;
let certPath = '';

/** One GridClient call in the laptop namespace, e.g. call('machines.getObj', 'vm1'). */
function call<T = any>(what: string, ...args: unknown[]): Promise<T> {
  return agent!.request<T>({ call: what, args }, what);
}

/** A GET on the indexer from the laptop, as grid_client sees it (https, the lab's CA). */
async function indexer(path: string): Promise<any> {
  const r = await lab!.exec(lab!.laptop, 'curl', ['-sf', '--max-time', '5', '--cacert', certPath, `${INDEXER}${path}`], { reject: false });
  if (r.exitCode !== 0) throw new Error(`GET ${path}: curl exit ${r.exitCode} ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** The NR namespaces a lab node made (its uplink veths name them). */
async function nrNamespaces(node: LabNode): Promise<string[]> {
  const links = (await execa('ip', ['-n', node.host.ns, '-o', 'link'])).stdout;
  return [...new Set([...links.matchAll(/link-netns (n-\S+)/g)].map((m) => m[1]!))];
}

/**
 * Brings up a wg-quick style config (as grid_client returns it) in the laptop: wireguard-go, the
 * interface address, keys and peer (`wg setconf` takes no Address), and a route per allowed IP.
 */
async function bringUpAccess(dir: string, config: string, defer: (fn: () => unknown) => void): Promise<void> {
  const ns = lab!.laptop.ns;
  const iface = `lw${process.pid}`; // the UAPI socket directory is host-wide
  const address = /^Address = (\S+)$/m.exec(config)?.[1];
  const allowed = /^AllowedIPs = (.+)$/m.exec(config)?.[1]?.split(/,\s*/) ?? [];
  assert.ok(address && allowed.length, `an address and allowed IPs in ${config}`);
  const pid = await startWireguardGo({ iface, ns, logFile: join(dir, `${iface}.log`) });
  defer(() => stopWireguardGo(pid, iface));
  const file = join(dir, `${iface}.conf`);
  await writeFile(file, config.replace(/^Address = .*$/m, ''), { mode: 0o600 });
  await execa('wg', ['setconf', iface, file]);
  await execa('ip', ['-n', ns, 'addr', 'add', address!, 'dev', iface]);
  await execa('ip', ['-n', ns, 'link', 'set', iface, 'up']);
  for (const net of allowed) await execa('ip', ['-n', ns, 'route', 'replace', net, 'dev', iface]);
}

/**
 * Starts the image server, indexer, user and the GridClient agent on a VM lab (relay over TLS),
 * and makes the node an access node: a farmer's farm with the farm network's upstream router,
 * the public NIC and the node's public config on chain. Steps that need nothing from each other run at once.
 */
async function start({ defer, dir, image, grid }: VmLab): Promise<{ node: LabNode }> {
  lab = grid.lab;
  certPath = grid.certPath;
  const caEnv = { NODE_EXTRA_CA_CERTS: grid.certPath, ZOS_LOG_LEVEL: process.env.ZOS_LOG_LEVEL ?? 'warn' };
  const [, farmer] = await Promise.all([
    addUpstreamRouter(lab),
    // The farmer's RMB peer trusts the lab relay's self-signed certificate.
    readFile(grid.certPath, 'utf8').then((ca) => createGridUser({ client: grid.client, activationUrl: grid.activationUrl, relayUrl: grid.relayUrl, log: silentLogger(), ca })),
  ]);
  defer(() => farmer.peer.close());
  grid.farmId = (await farmer.account.ensureFarm('gcfarm', [])).farmId;
  // The user: funded, T&C accepted and a twin (grid_client's connect needs one; it sets its relay and key itself).
  const mnemonic = mnemonicGenerate();
  const [node] = await Promise.all([
    (async () => {
      const n = await grid.startNode(0, { env: { ZOS_VM_ACCEL: 'tcg' } });
      await rmb(farmer, n.twinId, 'zos.admin.set_public_nic', 'eth1');
      await farmer.account.addNodePublicConfig(grid.farmId, n.nodeId, { ...FARM_NET.node, domain: null });
      await waitFor(async () => (await rmb<{ ipv4: string }>(farmer, n.twinId, 'zos.network.public_config_get').catch(() => ({ ipv4: '' }))).ipv4 === FARM_NET.node.ip4.ip,
        'public config applied', 30_000, 300);
      return n;
    })(),
    waitOutput(lab.spawn(lab.services, BIN, ['image', 'serve', '--store', image.store, '--host', SERVICES_IP, '--port', '8099']), /ready http:/),
    // The indexer asks the node over RMB as its own twin, and serves https (grid_client reaches KYC over https only).
    waitOutput(lab.spawn(lab.services, BIN, ['indexer', '--chain', grid.inside.chain, '--host', SERVICES_IP, '--port', '8081',
      '--relay', grid.inside.relay, '--mnemonic', mnemonicGenerate(), '--activation-url', grid.inside.activation,
      '--tls-cert', grid.certPath, '--tls-key', grid.keyPath], { env: caEnv }), /ready https:/),
    (async () => {
      const pair = new Keyring({ type: 'sr25519', ss58Format: 42 }).addFromMnemonic(mnemonic);
      await fundFromFaucet(grid.client, grid.activationUrl, pair.address);
      const account = grid.client.as(pair);
      await account.ensureTermsAccepted();
      await account.ensureTwin({ relay: [SERVICES_IP], pk: null });
    })(),
  ]);

  const options = {
    network: 'dev', mnemonic, storeSecret: 'grid-client-vm', kyc: `${SERVICES_IP}:8081`,
    substrateURL: grid.inside.chain, relayURL: `wss://${SERVICES_IP}`, proxyURL: INDEXER, graphqlURL: `${INDEXER}/graphql`, activationURL: grid.inside.activation,
  };
  const proc = lab.spawn(lab.laptop, process.execPath, ['--import', 'tsx', join(dirname(fileURLToPath(import.meta.url)), 'grid-client-agent.ts'), JSON.stringify(options)],
    { env: { ...caEnv, HOME: dir }, stdin: 'pipe', stderr: process.env.ZOS_TEST_LOGS ? 'inherit' : 'pipe' });
  // grid_client's VM code reads the node's features from the proxy: the indexer's first RMB poll
  // is awaited while the agent loads grid_client.
  const [started] = await Promise.all([
    LineAgent.start(proc, 120_000),
    waitFor(async () => {
      const [n] = await indexer(`/nodes?node_id=${node.nodeId}`).catch(() => []);
      return n?.status === 'up' && n.features.includes('zmachine') && n.features.includes('wireguard') && n.publicConfig?.ipv4 === FARM_NET.node.ip4.ip;
    }, 'the indexer lists the node up with its features and public config', 60_000, 500),
  ]);
  agent = started.agent;
  defer(() => agent?.close());
  return { node };
}

test('official GridClient: machines.deploy (network + disk) -> getObj with its IP -> networks.list -> machines.delete removes its contracts', { timeout: 600_000 }, async (t) => {
  const tools = await execa('sh', ['-c', 'command -v wireguard-go && command -v wg && command -v nft && command -v openssl && command -v curl'], { reject: false });
  if (!requireHost(t, tools.exitCode === 0, 'wireguard-go, wireguard-tools, nftables, openssl and curl are needed (.ci/debian-packages)')) return;
  const vmLab = await startVmLab(t, { tempPrefix: 'zos-gridclient-vm-', relayTls: true });
  if (!vmLab) return;
  const { grid } = vmLab;
  const { node } = await start(vmLab);
  const { dir, defer } = vmLab;

  const deployed = await call('machines.deploy', {
    name: 'gcvm',
    network: { name: 'gcnet', ip_range: '10.238.0.0/16', addAccess: true },
    machines: [{
      name: 'gcvm', node_id: node.nodeId, flist: `${IMAGES}/test/base:1.flist`, cpu: 1, memory: 256, rootfs_size: 1,
      disks: [{ name: 'data', size: 1, mountpoint: '/data' }], public_ip: false, planetary: false, mycelium: false,
      entrypoint: "/bin/sh -c 'mkdir -p /www; echo gridclient > /www/index.html; exec httpd -f -p 80 -h /www'", env: {},
    }],
  });
  assert.equal(deployed.contracts.created.length, 1, 'the VM contract (network contracts are not listed as created)');

  const [vm] = await call<any[]>('machines.getObj', 'gcvm');
  assert.equal(vm.name, 'gcvm');
  assert.equal(vm.nodeId, node.nodeId);
  assert.equal(vm.contractId, deployed.contracts.created[0].contractId);
  assert.equal(vm.status, 'ok');
  assert.equal(vm.interfaces[0].network, 'gcnet');
  const ip = vm.interfaces[0].ip as string;
  assert.match(ip, /^10\.238\.\d+\.\d+$/);
  assert.deepEqual(vm.mounts.map((m: any) => [m.name, m.mountPoint, m.size]), [['data', '/data', 1024 ** 3]]);
  const [nr] = await nrNamespaces(node);
  assert.ok(nr, 'the node built the network resource');
  // The VM runs there, reached from the laptop through the access config grid_client returned:
  // its endpoint is the node's public IP, where the NR's wireguard-go listens.
  const config = deployed.wireguard_config as string;
  assert.match(config, new RegExp(`Endpoint = ${FARM_NET.node.ip4.ip.split('/')[0]!.replaceAll('.', '\\.')}:\\d+`));
  await bringUpAccess(dir, config, defer);
  await waitFor(async () => (await lab!.exec(lab!.laptop, 'curl', ['-sf', '--max-time', '3', `http://${ip}/`], { reject: false })).stdout.trim() === 'gridclient',
    `the VM answers at ${ip} through WireGuard`, 90_000, 500);

  assert.deepEqual(await call('networks.list'), ['gcnet']);
  assert.deepEqual(await call('machines.list'), ['gcvm']);
  const mine = await call('contracts.listMyContracts');
  assert.equal(mine.nodeContracts.length, 2, 'network and VM contracts');

  const removed = await call('machines.delete', { name: 'gcvm' });
  const ids = mine.nodeContracts.map((c: any) => Number(c.contractID)).sort();
  assert.deepEqual(removed.deleted.map((c: any) => c.contractId).sort(), ids, 'the VM and its network (its last node) are cancelled');
  for (const id of ids) assert.equal(await grid.client.query.contract(id), null, `contract ${id} gone on chain`);
  for (const c of mine.nodeContracts) {
    await waitFor(async () => (await indexer(`/contracts?contract_id=${c.contractID}`))[0]?.state === 'Deleted', `contract ${c.contractID} deleted in the indexer`, 30_000, 300);
  }
  assert.deepEqual((await call('contracts.listMyContracts')).nodeContracts, []);
  assert.deepEqual(await call('machines.list'), []);
  await waitFor(async () => (await processesWith(join(node.dataDir, 'vms'))).length === 0, 'the VM is gone from the node', 60_000);
});
