import { test } from 'node:test';
import { readStorage } from '../../chain/client/queries.ts';
import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { silentLogger } from '../../lib/log.ts';
import type { Deployment } from '../../node/model/index.ts';
import { proxyRunDir } from '../../node/host/gateway/privileges.ts';
import { BIN, createGridUser, waitFor, type GridUser } from '../helpers/grid.ts';
import { startLabDns } from '../helpers/dns.ts';
import { SERVICES_IP, testFailed, waitOutput } from '../helpers/lab.ts';
import { addUpstreamRouter, FARM_NET } from '../helpers/lab-public.ts';
import { MiB, rmb, signed, waitStates, withContract } from '../helpers/deployments.ts';
import { processesWith, startVmLab } from '../vm/fixtures.ts';
import { startPebble } from './pebble.ts';

const wl = (name: string, type: string, data: unknown) => ({ version: 0, name, type, data, metadata: '', description: '', result: { created: 0, state: 'init', message: '', data: null } });

function deployment(user: GridUser, contractId: number, workloads: ReturnType<typeof wl>[]): Deployment {
  return signed(user, {
    version: 0, twin_id: user.twinId, contract_id: contractId, metadata: '', description: 'gateway test', expiration: 0,
    signature_requirement: { requests: [{ twin_id: user.twinId, required: false, weight: 1 }], weight_required: 1, signatures: [], signature_style: '' },
    workloads,
  } as Deployment);
}

/** The node's public IPv4 and IPv6 (public-looking, inside the isolated lab only) and its gateway domain. */
const PUB = FARM_NET.node.ip4.ip.split('/')[0]!;
const PUB6 = FARM_NET.node.ip6.ip.split('/')[0]!;
const DOMAIN = 'gw.lab';

/**
 * Gateways through a node in the lab: the node's public config (with a domain) is on chain,
 * FQDNs resolve through a DNS server in the lab, one VM serves HTTP in the owner's network
 * and a second machine on that network serves TLS. From the laptop: a name gateway serves the
 * VM's page (Host header), a TLS passthrough name reaches the TLS server (SNI, its own
 * certificate), an fqdn gateway likewise; wrong owners, FQDNs and backends are refused with
 * zos' texts and leave no route; traffic reaches add_nru_reports; cancel removes the routes.
 */
test('gateway lab: name and fqdn gateways to a VM in the owner network, TLS passthrough, refusals, NRU, cancel', async (t) => {
  const started = await startVmLab(t, { tempPrefix: 'zos-gw-test-' });
  if (!started) return;
  const { defer, dir, image, grid, lab } = started;
  const newUser = async () => {
    const u = await createGridUser({ client: grid.client, activationUrl: grid.activationUrl, relayUrl: grid.relayUrl, log: silentLogger() });
    defer(() => u.peer.close());
    return u;
  };
  // Independent set-up steps at once: the upstream router, the lab's DNS, the farmer and the two users.
  const [, resolver, farmer, user, other] = await Promise.all([
    addUpstreamRouter(lab),
    startLabDns(lab, lab.services, {
      'app.example.org': [PUB], 'app1.gw.lab': [PUB], 'out.example.org': [PUB], 'loop.example.org': [PUB], 'elsewhere.example.org': ['198.18.0.99'],
    }),
    newUser(), newUser(), newUser(),
  ]);
  const served = waitOutput(lab.spawn(lab.services, BIN, ['image', 'serve', '--store', image.store, '--host', SERVICES_IP, '--port', '8099']), /ready http:/);
  served.catch(() => undefined); // awaited below; its failure is reported there
  grid.farmId = (await farmer.account.ensureFarm('gwfarm', [])).farmId;
  // The ACME CA (pebble) on the laptop's side of the lab: it resolves names through the lab DNS and validates HTTP-01 on the node's public :80.
  const pebble = await startPebble(lab, lab.laptop, dir, resolver);
  const node = await grid.startNode(0, { env: { ZOS_VM_ACCEL: 'tcg', ZOS_ACME_DIRECTORY: pebble.directoryUrl, NODE_EXTRA_CA_CERTS: pebble.apiCert }, args: ['--dns-resolver', resolver, '--nru-minutes', '0.05'] });
  // On failure, haproxy's own log and the config it was last given (the daemons' output is printed by the lab).
  defer(async () => {
    if (!testFailed(t)) return;
    const run = proxyRunDir(join(node.dataDir, 'gateway'));
    const r = await execa('sh', ['-c', `tail -n 30 ${join(node.dataDir, 'gateway', 'haproxy.log')}; cat ${join(run, 'haproxy.cfg')}`], { reject: false });
    process.stderr.write(`--- haproxy log and config\n${r.stdout}\n${r.stderr}\n`);
  });
  // The farmer wires the public NIC and sets the node's public config with a domain: the node builds its public namespace.
  await rmb(farmer, node.twinId, 'zos.admin.set_public_nic', 'eth1');
  await farmer.account.addNodePublicConfig(grid.farmId, node.nodeId, { ...FARM_NET.node, domain: DOMAIN });
  await waitFor(async () => (await rmb<{ domain: string }>(farmer, node.twinId, 'zos.network.public_config_get').catch(() => ({ domain: '' }))).domain === DOMAIN, 'public config applied', 30_000, 300);
  await served;

  const names = new Map<string, number>();
  for (const name of ['app1', 'tls1', 'out1']) names.set(name, (await user.account.createNameContract(name)).contractId);
  await other.account.createNameContract('theirs');

  // The owner's network and a VM serving HTTP on 10.20.2.5.
  const priv = (await execa('wg', ['genkey'])).stdout.trim();
  const vmDl = await withContract(user, node.nodeId, (c) => deployment(user, c, [
    wl('net1', 'network', { ip_range: '10.20.0.0/16', subnet: '10.20.2.0/24', wireguard_private_key: priv, wireguard_listen_port: 4567, peers: [] }),
    wl('vm', 'zmachine', {
      flist: `http://${SERVICES_IP}:8099/test/base:1.flist`, network: { public_ip: '', planetary: false, interfaces: [{ network: 'net1', ip: '10.20.2.5' }] },
      size: 0, compute_capacity: { cpu: 1, memory: 256 * MiB }, mounts: [], env: { MSG: 'hello through the gateway' }, corex: false,
      entrypoint: `/bin/sh -c 'mkdir -p /www; echo "$MSG" > /www/index.html; exec httpd -f -p 80 -h /www'`,
    }),
  ]));
  await rmb(user, node.twinId, 'zos.deployment.deploy', vmDl);
  await waitStates(user, node.twinId, vmDl.contract_id, (s) => s.vm === 'ok' && s.net1 === 'ok', 'network and vm ok', 180_000);

  // A second machine on the same network (a namespace on the NR bridge) serving TLS on 10.20.2.7:8443.
  const nodeNs = lab.nodes[0]!.ns;
  const bridge = /\d+: (b-[^:@]+)/.exec((await execa('ip', ['-n', nodeNs, '-o', 'link', 'show', 'type', 'bridge'])).stdout)![1]!;
  const m2 = { role: 'm2', ns: `${lab.id}-m2`, ip: '10.20.2.7' };
  await execa('ip', ['netns', 'add', m2.ns]);
  defer(() => execa('ip', ['netns', 'del', m2.ns], { reject: false }));
  await execa('ip', ['-n', nodeNs, 'link', 'add', `m2${lab.id.slice(2)}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', m2.ns]);
  await execa('ip', ['-n', nodeNs, 'link', 'set', `m2${lab.id.slice(2)}`, 'master', bridge, 'up']);
  await execa('ip', ['-n', m2.ns, 'addr', 'add', '10.20.2.7/24', 'dev', 'eth0']);
  await execa('ip', ['-n', m2.ns, 'link', 'set', 'eth0', 'up']);
  const cert = { certPath: join(dir, 'tls1.crt'), keyPath: join(dir, 'tls1.key') };
  await execa('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=tls1.gw.lab', '-addext', 'subjectAltName=DNS:tls1.gw.lab', '-keyout', cert.keyPath, '-out', cert.certPath]);
  const tlsServer = lab.spawn(m2, process.execPath, ['-e', `const fs=require('fs');require('https').createServer({cert:fs.readFileSync('${cert.certPath}'),key:fs.readFileSync('${cert.keyPath}')},(q,s)=>s.end('tls backend '+q.url)).listen(8443,'10.20.2.7',()=>console.log('ready'))`]);
  await waitOutput(tlsServer, /ready/);

  // The gateways, in their own deployment as grid clients make them.
  const gwDl = await withContract(user, node.nodeId, (c) => deployment(user, c, [
    wl('app1', 'gateway-name-proxy', { name: 'app1', tls_passthrough: false, backends: ['http://10.20.2.5'], network: 'net1' }),
    wl('tls1', 'gateway-name-proxy', { name: 'tls1', tls_passthrough: true, backends: ['10.20.2.7:8443'], network: 'net1' }),
    wl('app', 'gateway-fqdn-proxy', { fqdn: 'app.example.org', tls_passthrough: false, backends: ['http://10.20.2.5:80'], network: 'net1' }),
  ]));
  await rmb(user, node.twinId, 'zos.deployment.deploy', gwDl);
  const gws = await waitStates(user, node.twinId, gwDl.contract_id, (s) => Object.values(s).every((v) => v === 'ok' || v === 'error'), 'gateways settled');
  const result = (n: string) => gws.workloads.find((w) => w.name === n)!.result;
  for (const n of ['app1', 'tls1', 'app']) assert.equal(result(n).state, 'ok', `${n}: ${result(n).message}`);
  assert.deepEqual(result('app1').data, { fqdn: 'app1.gw.lab' });
  assert.deepEqual(result('tls1').data, { fqdn: 'tls1.gw.lab' });
  assert.deepEqual(result('app').data, {});

  const curl = async (args: string[]) => {
    const r = await lab.exec(lab.laptop, 'curl', ['-s', '--max-time', '5', ...args], { reject: false });
    return r.exitCode === 0 ? r.stdout.trim() : `curl exit ${r.exitCode}`;
  };
  /** HTTPS by name (TLS terminated by the gateway; -k: its certificate is the default one here). */
  const web = (host: string, ip = PUB) => curl(['-k', '--resolve', `${host}:443:${ip}`, `https://${host}/`]);
  let page = '';
  await waitFor(async () => (page = await web('app1.gw.lab')) === 'hello through the gateway', `the VM's page through app1.gw.lab (last: ${page})`, 60_000, 500);
  // From here the CA issues the terminated names' certificates (HTTP-01, answered by the gateway's
  // haproxy) while these requests run: neither the challenges nor the certificates reload haproxy
  // (a reload can 503 a request in flight to a backend in an owner network: haproxy 2.6's old
  // worker closes its namespace handles), so each request is tried once.
  const loads = async () => (await readFile(join(node.dataDir, 'gateway', 'haproxy.log'), 'utf8')).split('Loading success').length;
  const loaded = await loads();
  assert.equal(await web('app.example.org'), 'hello through the gateway');
  assert.equal(await web('app1.gw.lab', `[${PUB6}]`), 'hello through the gateway', 'over the public IPv6 too');
  assert.equal(await curl(['-o', '/dev/null', '-w', '%{http_code} %{redirect_url}', '-H', 'Host: app1.gw.lab', `http://${PUB}/a`]), '301 https://app1.gw.lab/a', 'HTTP redirects to https, as zos');
  assert.equal(await web('nobody.gw.lab'), '404 page not found');
  assert.equal(await curl(['--cacert', cert.certPath, '--resolve', `tls1.gw.lab:443:${PUB}`, 'https://tls1.gw.lab/x']), 'tls backend /x', 'TLS end to end with the backend certificate');

  // Verified against pebble's root.
  const root = await pebble.root();
  const verified = (host: string, ip = PUB) => curl(['--cacert', root, '--resolve', `${host}:443:${ip}`, `https://${host}/`]);
  for (const host of ['app1.gw.lab', 'app.example.org']) {
    let last = '';
    await waitFor(async () => (last = await verified(host)) === 'hello through the gateway', `${host} with a certificate from the CA (last: ${last})`, 90_000, 1000);
  }
  assert.equal(await loads(), loaded, 'haproxy was not reloaded for the certificates');
  assert.equal(await verified('app1.gw.lab', `[${PUB6}]`), 'hello through the gateway', 'the same certificate over IPv6');
  const certs = join(node.dataDir, 'gateway', 'certs');
  assert.deepEqual((await readdir(certs)).sort(), ['_default.pem', 'app.example.org.pem', 'app1.gw.lab.pem'], 'no certificate for the passthrough name');
  assert.equal((await stat(join(certs, 'app1.gw.lab.pem'))).mode & 0o777, 0o600);
  assert.equal((await stat(join(node.dataDir, 'gateway', 'acme', 'account.pem'))).mode & 0o777, 0o600);
  assert.equal(await curl(['--cacert', cert.certPath, '--resolve', `tls1.gw.lab:443:${PUB}`, 'https://tls1.gw.lab/y']), 'tls backend /y', 'passthrough on the same :443');

  // Refusals: zos' texts, each workload on its own, and no route made for any of them.
  const badDl = await withContract(user, node.nodeId, (c) => deployment(user, c, [
    wl('theirs', 'gateway-name-proxy', { name: 'theirs', tls_passthrough: false, backends: ['http://10.20.2.5'], network: 'net1' }),
    wl('unreserved', 'gateway-name-proxy', { name: 'unreserved', tls_passthrough: false, backends: ['http://10.20.2.5'], network: 'net1' }),
    wl('elsewhere', 'gateway-fqdn-proxy', { fqdn: 'elsewhere.example.org', tls_passthrough: false, backends: ['http://10.20.2.5'], network: 'net1' }),
    wl('unknown', 'gateway-fqdn-proxy', { fqdn: 'unknown.example.org', tls_passthrough: false, backends: ['http://10.20.2.5'], network: 'net1' }),
    wl('sub', 'gateway-fqdn-proxy', { fqdn: 'x.gw.lab', tls_passthrough: false, backends: ['http://10.20.2.5'], network: 'net1' }),
    wl('out1', 'gateway-name-proxy', { name: 'out1', tls_passthrough: false, backends: ['http://10.99.0.5'], network: 'net1' }),
    wl('nonet', 'gateway-fqdn-proxy', { fqdn: 'out.example.org', tls_passthrough: false, backends: ['http://10.20.2.5'], network: 'net9' }),
    wl('loop', 'gateway-fqdn-proxy', { fqdn: 'loop.example.org', tls_passthrough: false, backends: [`http://${PUB}:80`] }),
    wl('dup', 'gateway-fqdn-proxy', { fqdn: 'app.example.org', tls_passthrough: false, backends: ['http://10.20.2.5'], network: 'net1' }),
  ]));
  await rmb(user, node.twinId, 'zos.deployment.deploy', badDl);
  const bad = await waitStates(user, node.twinId, badDl.contract_id, (s) => Object.values(s).every((v) => v === 'error'), 'every bad gateway in error');
  const message = (n: string) => bad.workloads.find((w) => w.name === n)!.result.message;
  assert.equal(message('theirs'), 'failed to setup name proxy: failed to verify name contract: twin id mismatch');
  assert.equal(message('unreserved'), 'failed to setup name proxy: failed to verify name contract: a name contract with the given name must be reserved first');
  assert.equal(message('elsewhere'), "failed to setup fqdn proxy: failed to verify domain dns record: host doesn't point to the gateway ip");
  assert.equal(message('unknown'), `failed to setup fqdn proxy: failed to verify domain dns record: lookup unknown.example.org on ${resolver}: no such host`);
  assert.equal(message('sub'), "failed to setup fqdn proxy: can't create a fqdn workload with a subdomain of the gateway's managed domain");
  assert.equal(message('out1'), 'failed to setup name proxy: failed to ensure local gateway: backend http://10.99.0.5 is not in network net1 (10.20.0.0/16)');
  assert.match(message('nonet'), /^failed to setup fqdn proxy: failed to get user network: couldn't load network with id \(\w+\): no such network$/);
  assert.equal(message('loop'), `failed to setup fqdn proxy: backend http://${PUB}:80 points to the node's own public IP address`);
  assert.equal(message('dup'), 'failed to setup fqdn proxy: domain already registered: app.example.org');
  const stored = async () => (JSON.parse(await readFile(join(node.dataDir, 'gateway', 'routes.json'), 'utf8')) as { routes: Array<{ fqdn: string }> }).routes.map((r) => r.fqdn).sort();
  assert.deepEqual(await stored(), ['app.example.org', 'app1.gw.lab', 'tls1.gw.lab'], 'only the good gateways have routes');
  await user.account.cancelContract(badDl.contract_id);

  // The owner cancels a name contract: the node drops that name at once (zos checks hourly), the others stay.
  await user.account.cancelContract(names.get('tls1')!);
  const dropped = await waitStates(user, node.twinId, gwDl.contract_id, (s) => s.tls1 === 'error', 'tls1 decommissioned');
  assert.equal(dropped.workloads.find((w) => w.name === 'tls1')!.result.message, 'workload decommissioned by system, reason: a name contract with the given name must be reserved first');
  assert.deepEqual(await stored(), ['app.example.org', 'app1.gw.lab']);
  assert.equal(await web('app1.gw.lab'), 'hello through the gateway');

  // Traffic through the gateways reaches the chain as NRU of their contract.
  const nru = async () => grid.client.run(async (c) => {
    const info = (await readStorage(c, 'smartContractModule', 'contractBillingInformationByID', [gwDl.contract_id])) as { previousNuReported?: number };
    return info.previousNuReported ?? 0;
  });
  await waitFor(async () => (await nru()) > 0, 'add_nru_reports for the gateway contract', 30_000, 500);

  // Cancel: the routes go, haproxy stops with the last one; the VM is untouched.
  await user.account.cancelContract(gwDl.contract_id);
  await waitFor(async () => (await stored()).length === 0, 'routes removed', 30_000, 300);
  assert.deepEqual(await readdir(certs), ['_default.pem'], 'the certificates went with their names');
  assert.equal(await web('app1.gw.lab'), 'curl exit 7', 'nothing listens any more');
  assert.deepEqual(await processesWith(proxyRunDir(join(node.dataDir, 'gateway'))), []);
  await user.account.cancelContract(vmDl.contract_id);
});
