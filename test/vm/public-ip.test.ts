import { test } from 'node:test';
import { readStorage } from '../../chain/client/queries.ts';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { execa } from 'execa';
import { silentLogger } from '../../lib/log.ts';
import { hashHex, type Deployment } from '../../node/model/index.ts';
import { uniqueName } from '../../node/model/ids.ts';
import { macOf } from '../../node/primitives/zmachine/mac.ts';
import { BIN, createGridUser, waitFor } from '../helpers/grid.ts';
import { SERVICES_IP, waitOutput } from '../helpers/lab.ts';
import type { LabNode } from '../helpers/lab-grid.ts';
import { addUpstreamRouter, FARM_NET } from '../helpers/lab-public.ts';
import { MiB, rmb, signed, waitStates } from '../helpers/deployments.ts';
import { processesWith, sshKey, sshRun, startVmLab } from './fixtures.ts';

const wl = (name: string, type: string, data: unknown) => ({ version: 0, name, type, data, metadata: '', description: '', result: { created: 0, state: 'init', message: '', data: null } });

async function wgKey(): Promise<string> {
  return (await execa('wg', ['genkey'])).stdout.trim();
}

/** The modified EUI-64 interface id of a MAC, as the four low groups of an IPv6 address. */
function eui64(mac: string): string {
  const b = mac.split(':').map((h) => parseInt(h, 16));
  b[0]! ^= 0x02;
  const g = [(b[0]! << 8) | b[1]!, (b[2]! << 8) | 0xff, 0xfe00 | b[3]!, (b[4]! << 8) | b[5]!];
  return g.map((x) => x.toString(16)).join(':');
}

/**
 * Public IPs end to end in the lab: a farm (own farmer twin) with public IPs, its node wired to the
 * farm segment behind an upstream router. The farmer picks the public NIC over RMB and sets the
 * node's public config on chain; the node builds its public namespace and follows changes.
 */
test('public IPs: farmer sets the public nic, node follows its public config; a VM with a farm IPv4 and an IPv6 answers the laptop through the router; bad input; cancel frees', async (t) => {
  const started = await startVmLab(t);
  if (!started) return;
  const { defer, dir, image, grid, lab } = started;
  const log = silentLogger();
  const newUser = async () => {
    const u = await createGridUser({ client: grid.client, activationUrl: grid.activationUrl, relayUrl: grid.relayUrl, log });
    defer(() => u.peer.close());
    return u;
  };
  // Independent set-up steps at once: the upstream router, the farmer and the user, the image server.
  const served = waitOutput(lab.spawn(lab.services, BIN, ['image', 'serve', '--store', image.store, '--host', SERVICES_IP, '--port', '8099']), /ready http:/);
  served.catch(() => undefined); // awaited below; its failure is reported there
  const [, farmer, user] = await Promise.all([addUpstreamRouter(lab), newUser(), newUser()]);
  const { farmId } = await farmer.account.ensureFarm('pubfarm', FARM_NET.farmIps);
  grid.farmId = farmId;
  const node: LabNode = await grid.startNode(0, { env: { ZOS_VM_ACCEL: 'tcg' }, args: ['--nru-minutes', '0.05'] });

  // Admin commands: the farm's twin only; zos' texts for a bad payload and an unknown NIC.
  await assert.rejects(rmb(user, node.twinId, 'zos.admin.get_public_nic'), /unauthorized/);
  await assert.rejects(rmb(user, node.twinId, 'zos.admin.set_public_nic', 'eth1'), /unauthorized/);
  await assert.rejects(rmb(farmer, node.twinId, 'zos.admin.get_public_nic'), /no public bridge found: Link not found/);
  await assert.rejects(rmb(farmer, node.twinId, 'zos.admin.set_public_nic', 7), /failed to decode input, expecting string: json: cannot unmarshal number into Go value of type string/);
  await assert.rejects(rmb(farmer, node.twinId, 'zos.admin.set_public_nic', 'eth9'), /Link not found/);
  await assert.rejects(rmb(farmer, node.twinId, 'zos.network.public_config_get'), /no public configuration/);
  assert.equal(await rmb(farmer, node.twinId, 'zos.admin.set_public_nic', 'eth1'), null);
  assert.deepEqual(await rmb(farmer, node.twinId, 'zos.network.admin.get_public_nic'), { is_single: false, is_dual: true, dual_interface: 'eth1' });

  // The public config on chain becomes the node's public namespace, reachable from the laptop.
  await farmer.account.addNodePublicConfig(farmId, node.nodeId, { ...FARM_NET.node, domain: 'gw.lab.example' });
  const want = { type: '', ipv4: FARM_NET.node.ip4.ip, ipv6: FARM_NET.node.ip6.ip, gw4: FARM_NET.gw4, gw6: FARM_NET.gw6, domain: 'gw.lab.example' };
  await waitFor(async () => JSON.stringify(await rmb(user, node.twinId, 'zos.network.public_config_get')) === JSON.stringify(want), 'public config applied', 30_000, 300);
  assert.equal(await rmb(user, node.twinId, 'zos.network.has_ipv6'), true);
  const ping = (to: string) => lab.exec(lab.laptop, 'ping', ['-c1', '-W2', to], { reject: false });
  assert.equal((await ping('185.206.122.10')).exitCode, 0, 'the node public IPv4 answers through the router');
  assert.equal((await ping('2a02:1802:5e:2::10')).exitCode, 0, 'the node public IPv6 answers through the router');

  // A change on chain is followed: IPv4 moves, IPv6 and the domain go.
  await farmer.account.addNodePublicConfig(farmId, node.nodeId, { ip4: { ip: '185.206.122.11/24', gw: FARM_NET.gw4 }, ip6: null, domain: null });
  await waitFor(async () => (await rmb<{ ipv4: string }>(user, node.twinId, 'zos.network.public_config_get')).ipv4 === '185.206.122.11/24', 'public config change followed', 30_000, 300);
  assert.deepEqual(await rmb(user, node.twinId, 'zos.network.public_config_get'), { ...want, ipv4: '185.206.122.11/24', ipv6: '', gw6: '', domain: '' });
  await assert.rejects(rmb(user, node.twinId, 'zos.network.has_ipv6'), /no public ipv6 found/);
  assert.equal((await ping('185.206.122.11')).exitCode, 0);

  // The full config back (IPv4 .10 and the IPv6 prefix the ip workloads take theirs from).
  await farmer.account.addNodePublicConfig(farmId, node.nodeId, { ...FARM_NET.node, domain: 'gw.lab.example' });
  await waitFor(async () => (await rmb<{ ipv6: string }>(user, node.twinId, 'zos.network.public_config_get')).ipv6 !== '', 'IPv6 back', 30_000, 300);

  // A VM whose ip workload takes the contract's farm IP and an IPv6; the laptop reaches its web server on both.
  await served;
  const netKey = await wgKey();
  const ssh = await sshKey(dir);
  const deployment = (contractId: number, workloads: unknown[]): Deployment => signed(user, {
    version: 0, twin_id: user.twinId, contract_id: contractId, metadata: '', description: 'public ip test', expiration: 0,
    signature_requirement: { requests: [{ twin_id: user.twinId, required: false, weight: 1 }], weight_required: 1, signatures: [], signature_style: '' },
    workloads,
  } as Deployment);
  const net = (subnet: string) => wl('net1', 'network', { ip_range: '10.20.0.0/16', subnet, wireguard_private_key: netKey, wireguard_listen_port: 4567, peers: [] });
  const machine = (name: string, ip: string, publicIp: string) => wl(name, 'zmachine', {
    flist: `http://${SERVICES_IP}:8099/test/base:1.flist`, network: { public_ip: publicIp, planetary: false, interfaces: [{ network: 'net1', ip }] },
    size: 0, compute_capacity: { cpu: 1, memory: 256 * MiB }, mounts: [], env: { SSH_KEY: ssh.pub },
    entrypoint: `/bin/sh -c 'mkdir -p /www; echo hello-public > /www/index.html; /sbin/zos-sshd; exec httpd -f -p 80 -h /www'`, corex: false,
  });
  const withIps = async (publicIps: number, build: (c: number) => Deployment) => {
    const c = await user.account.createNodeContract({ nodeId: node.nodeId, hash: hashHex(build(0)), data: '', publicIps });
    return build(c.contractId);
  };
  const dl = await withIps(1, (c) => deployment(c, [net('10.20.2.0/24'), wl('pub', 'ip', { v4: true, v6: true }), machine('vm', '10.20.2.5', 'pub')]));
  await rmb(user, node.twinId, 'zos.deployment.deploy', dl);
  const got = await waitStates(user, node.twinId, dl.contract_id, (s) => Object.values(s).every((v) => v === 'ok') || Object.values(s).includes('error'), 'public vm ok', 180_000);
  const states = Object.fromEntries(got.workloads.map((w) => [w.name, [w.result.state, w.result.message]]));
  assert.deepEqual(states, { net1: ['ok', ''], pub: ['ok', ''], vm: ['ok', ''] });
  const pubKey = uniqueName(`${user.twinId}-${dl.contract_id}-pub`, 'pub');
  const ip6 = `2a02:1802:5e:2:${eui64(macOf(pubKey))}`;
  assert.deepEqual(got.workloads.find((w) => w.name === 'pub')!.result.data, { ip: '185.206.122.20/24', ip6: `${ip6}/64`, gateway: FARM_NET.gw4 });
  const contract = await grid.client.query.contract(dl.contract_id);
  assert.deepEqual(contract?.contractType.kind === 'NodeContract' && contract.contractType.publicIpsList.map((p) => p.ip), ['185.206.122.20/24']);
  const curl = async (url: string) => {
    let out = '';
    await waitFor(async () => {
      const r = await lab.exec(lab.laptop, 'curl', ['-sfg', '--max-time', '3', url], { reject: false });
      out = r.stdout.trim();
      return r.exitCode === 0;
    }, `laptop reaches ${url}`, 90_000, 500);
    return out;
  };
  assert.equal(await curl('http://185.206.122.20/'), 'hello-public', 'the farm IPv4 through the upstream router');
  assert.equal(await curl(`http://[${ip6}]/`), 'hello-public', 'the IPv6 through the upstream router');
  assert.deepEqual(await rmb(user, node.twinId, 'zos.network.list_public_ips'), ['185.206.122.20/24']);
  // Inside, over SSH on the public IP: the default route leaves by the public NIC; an address the
  // VM was not given gets nothing through (the tap filter drops its IPv4 and ARP).
  const probe = await sshRun(lab.laptop.ns, ssh.key, '185.206.122.20', [
    "dev=$(ip -o -4 addr show | awk '/185.206.122.20/{print $2}')", 'ip route show default', 'ip addr add 185.206.122.99/24 dev $dev',
    `ping -c1 -W2 ${FARM_NET.gw4} >/dev/null && echo own-ok`, `ping -c1 -W2 -I 185.206.122.99 ${FARM_NET.gw4} >/dev/null && echo spoof-ok`, 'true',
  ].join('; '));
  assert.equal(probe.exitCode, 0, probe.stderr);
  assert.match(probe.stdout, new RegExp(`default via ${FARM_NET.gw4.replace(/\./g, '\\.')} dev eth1`));
  assert.match(probe.stdout, /own-ok/);
  assert.doesNotMatch(probe.stdout, /spoof-ok/, 'a spoofed source address is dropped at the tap');

  // The public NIC's traffic reaches the chain as NRU of the contract (zos counts a VM's public NIC).
  const nru = async () => grid.client.run(async (c) => {
    const info = (await readStorage(c, 'smartContractModule', 'contractBillingInformationByID', [dl.contract_id])) as { previousNuReported?: number };
    return info.previousNuReported ?? 0;
  });
  await waitFor(async () => (await nru()) > 0, 'add_nru_reports for the public IP contract', 30_000, 500);

  // Bad input. A public_ip naming no workload: refused at deploy, nothing stored.
  const missing = deployment(999_999, [net('10.20.2.0/24'), machine('vm2', '10.20.2.6', 'nope')]);
  await assert.rejects(rmb(user, node.twinId, 'zos.deployment.deploy', missing), /public ip is not found/);
  await assert.rejects(rmb(user, node.twinId, 'zos.deployment.get', { contract_id: 999_999 }), /deployment not found/);
  // Two v4 ip workloads on a contract holding one farm IP: zos' error on both, the VM naming one fails, nothing on the host.
  const two = await withIps(1, (c) => deployment(c, [wl('ipa', 'ip', { v4: true, v6: false }), wl('ipb', 'ipv4', {}), machine('vm3', '10.20.2.7', 'ipa')]));
  await rmb(user, node.twinId, 'zos.deployment.deploy', two);
  const bad = await waitStates(user, node.twinId, two.contract_id, (s) => Object.values(s).every((v) => v === 'error'), 'all error', 60_000);
  const msg = Object.fromEntries(bad.workloads.map((w) => [w.name, w.result.message]));
  assert.deepEqual(msg, {
    ipa: 'required 2 ips while contract has 1 ip reserved', ipb: 'required 2 ips while contract has 1 ip reserved',
    vm3: 'could not get public ip config: public ip workload is not okay',
  });
  // The farm has no free IP left: tfchain refuses the contract.
  await assert.rejects(user.account.createNodeContract({ nodeId: node.nodeId, hash: 'f'.repeat(32), data: '', publicIps: 1 }), /FarmHasNotEnoughPublicIPsFree/);
  await user.account.cancelContract(two.contract_id);

  // Cancel: the IP is free on chain, the VM, its public tap and the filter are gone, nothing listed.
  const nodeNs = lab.nodes[0]!.ns;
  const hostState = async () => ({
    taps: (await execa('ip', ['-n', nodeNs, '-o', 'link'])).stdout.split('\n').filter((l) => /: p-/.test(l)).length,
    filters: (await execa('ip', ['netns', 'exec', nodeNs, 'nft', 'list', 'tables', 'bridge'])).stdout.split('\n').filter((l) => l.includes('zos-pub-')).length,
  });
  assert.deepEqual(await hostState(), { taps: 1, filters: 1 }, 'only the working VM has a public tap and filter');
  await user.account.cancelContract(dl.contract_id);
  // By data dir: other runs on this host may have a VM of the same workload id.
  await waitFor(async () => (await processesWith(join(node.dataDir, 'vms'))).length === 0, 'vm stopped', 60_000);
  await waitFor(async () => JSON.stringify(await hostState()) === JSON.stringify({ taps: 0, filters: 0 }), 'public tap and filter removed', 30_000);
  const farm = await grid.client.query.farm(farmId);
  assert.deepEqual(farm?.publicIps.map((p) => p.contractId), [0, 0], 'both farm IPs free on chain');
  // The ip workload is released right after the VM (uninstall order): wait for it rather than race it.
  await waitFor(async () => (await rmb<string[]>(user, node.twinId, 'zos.network.list_public_ips')).length === 0, 'public ip released by the node', 30_000);
});
