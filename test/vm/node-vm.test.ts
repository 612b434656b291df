import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { silentLogger } from '../../lib/log.ts';
import type { Deployment } from '../../node/model/index.ts';
import { BIN, createGridUser, waitFor } from '../helpers/grid.ts';
import { mountsUnder } from '../helpers/host.ts';
import { nodeIp, SERVICES_IP, waitOutput } from '../helpers/lab.ts';
import { GiB, MiB, rmb, signed, waitStates, withContract } from '../helpers/deployments.ts';
import { processesWith, sshKey, startVmLab } from './fixtures.ts';

const wl = (name: string, type: string, data: unknown) => ({ version: 0, name, type, data, metadata: '', description: '', result: { created: 0, state: 'init', message: '', data: null } });

async function wgKeys(): Promise<{ priv: string; pub: string }> {
  const priv = (await execa('wg', ['genkey'])).stdout.trim();
  const pub = (await execa('wg', ['pubkey'], { input: priv })).stdout.trim();
  return { priv, pub };
}

/**
 * A VM deployed through a node in the lab, the way a user does it: a network with the laptop as
 * a WireGuard peer, a disk, a zmachine from an image served in the lab, and zlogs to a WebSocket
 * and a Redis receiver. The laptop reaches the VM's entrypoint over WireGuard and logs in with its SSH key;
 * a grace period pauses it and its end resumes it; the node is killed with -9 and its successor
 * adopts the VM; cancelling leaves nothing behind.
 */
test('node vm: deploy -> ok with zos result, reachable from the laptop peer, SSH, zlogs (ws, redis), grace pause/resume, kill -9 adopted, cancel leaves nothing', async (t) => {
  const started = await startVmLab(t);
  if (!started) return;
  const { defer, dir, image, grid, lab } = started;
  const nodeEnv = { ZOS_VM_ACCEL: 'tcg', ZOS_VM_MAX_CRASHES: '2', ZOS_VM_RESTART_BACKOFF_MS: '200' };
  // Receivers for zlogs in the services namespace, a WebSocket one that prints what it gets and
  // a Redis one (zlogs PUBLISHes to the channel the URL names), started while the node, the image
  // server and the user come up: none of these needs another.
  const receiver = lab.spawn(lab.services, process.execPath, ['-e',
    `const {WebSocketServer}=require('ws');const s=new WebSocketServer({host:'${SERVICES_IP}',port:8098});s.on('listening',()=>console.log('listening'));s.on('connection',c=>c.on('message',m=>process.stdout.write(String(m))));`]);
  let received = '';
  receiver.stdout!.on('data', (d: Buffer) => (received += String(d)));
  const redis = lab.spawn(lab.services, 'redis-server', ['--bind', SERVICES_IP, '--port', '6379', '--save', '', '--appendonly', 'no', '--protected-mode', 'no']);
  defer(() => redis.kill('SIGTERM'));
  let published = '';
  const redisSubscribed = async () => {
    await waitFor(async () => (await lab.exec(lab.services, 'redis-cli', ['-h', SERVICES_IP, 'ping'], { reject: false })).stdout === 'PONG', 'redis up', 20_000);
    const sub = lab.spawn(lab.services, 'redis-cli', ['-h', SERVICES_IP, 'subscribe', 'vmlogs']);
    defer(() => sub.kill('SIGTERM'));
    sub.stdout!.on('data', (d: Buffer) => (published += String(d)));
    await waitFor(async () => published.includes('vmlogs'), 'redis subscriber ready', 10_000);
  };
  const newUser = async () => {
    const u = await createGridUser({ client: grid.client, activationUrl: grid.activationUrl, relayUrl: grid.relayUrl, log: silentLogger() });
    defer(() => u.peer.close());
    return u;
  };
  const [node, user, nodeWg, laptopWg, { key, pub }] = await Promise.all([
    grid.startNode(0, { env: nodeEnv }), newUser(), wgKeys(), wgKeys(), sshKey(dir),
    waitOutput(lab.spawn(lab.services, BIN, ['image', 'serve', '--store', image.store, '--host', SERVICES_IP, '--port', '8099']), /ready http:/),
    waitOutput(receiver, /listening/), redisSubscribed(),
  ]);
  const flist = `http://${SERVICES_IP}:8099/test/base:1.flist`;
  const entry = `/bin/sh -c 'mkdir -p /www; echo "$MSG" > /www/index.html; df -k /data | tail -1 > /www/df; echo zlogs-marker; /sbin/zos-sshd; exec httpd -f -p 80 -h /www'`;
  const build = (contractId: number): Deployment => signed(user, {
    version: 0, twin_id: user.twinId, contract_id: contractId, metadata: '', description: 'vm test', expiration: 0,
    signature_requirement: { requests: [{ twin_id: user.twinId, required: false, weight: 1 }], weight_required: 1, signatures: [], signature_style: '' },
    workloads: [
      wl('net1', 'network', {
        ip_range: '10.20.0.0/16', subnet: '10.20.2.0/24', wireguard_private_key: nodeWg.priv, wireguard_listen_port: 4567,
        peers: [{ subnet: '10.20.3.0/24', wireguard_public_key: laptopWg.pub, allowed_ips: ['10.20.3.0/24', '100.64.20.3/32'], endpoint: '' }],
      }),
      wl('disk', 'zmount', { size: 1 * GiB }),
      wl('vm', 'zmachine', {
        flist, network: { public_ip: '', planetary: false, interfaces: [{ network: 'net1', ip: '10.20.2.5' }] },
        size: 0, compute_capacity: { cpu: 1, memory: 256 * MiB }, mounts: [{ name: 'disk', mountpoint: '/data' }],
        entrypoint: entry, env: { MSG: 'hello over wireguard', SSH_KEY: pub }, corex: false,
      }),
      wl('logs', 'zlogs', { zmachine: 'vm', output: `ws://${SERVICES_IP}:8098/` }),
      wl('logs2', 'zlogs', { zmachine: 'vm', output: `redis://${SERVICES_IP}:6379/vmlogs` }),
    ],
  } as Deployment);
  const dl = await withContract(user, node.nodeId, build);
  await rmb(user, node.twinId, 'zos.deployment.deploy', dl);
  const got = await waitStates(user, node.twinId, dl.contract_id, (s) => Object.values(s).every((v) => v === 'ok') || Object.values(s).includes('error'), 'deployment ok', 180_000);
  const vmWl = got.workloads.find((w) => w.name === 'vm')!;
  assert.equal(vmWl.result.state, 'ok', vmWl.result.message);
  const wlid = `${user.twinId}-${dl.contract_id}-vm`;
  assert.deepEqual(vmWl.result.data, { id: wlid, ip: '10.20.2.5', planetary_ip: '', mycelium_ip: '', console_url: '' });

  // The laptop joins the network over WireGuard (as addAccess would configure it) and reaches the VM.
  const wgIf = `wl${lab.id.slice(2, 8)}`;
  const wgd = lab.spawn(lab.laptop, 'wireguard-go', ['-f', wgIf], { env: { WG_PROCESS_FOREGROUND: '1' } });
  defer(() => wgd.kill('SIGTERM'));
  await waitFor(async () => (await lab.exec(lab.laptop, 'ip', ['link', 'show', wgIf], { reject: false })).exitCode === 0, 'laptop wireguard-go up', 10_000);
  await lab.exec(lab.laptop, 'sh', ['-c', `echo ${laptopWg.priv} > /tmp/${wgIf}.key && wg set ${wgIf} private-key /tmp/${wgIf}.key peer ${nodeWg.pub} endpoint ${nodeIp(0)}:4567 allowed-ips 10.20.0.0/16,100.64.20.2/32 persistent-keepalive 25 && rm /tmp/${wgIf}.key`]);
  await lab.exec(lab.laptop, 'ip', ['addr', 'add', '100.64.20.3/32', 'dev', wgIf]);
  await lab.exec(lab.laptop, 'ip', ['link', 'set', wgIf, 'up']);
  await lab.exec(lab.laptop, 'ip', ['route', 'add', '10.20.0.0/16', 'dev', wgIf]);
  const curl = async (path: string) => {
    let out = '';
    await waitFor(async () => {
      const r = await lab.exec(lab.laptop, 'curl', ['-sf', '--max-time', '3', `http://10.20.2.5/${path}`], { reject: false });
      out = String(r.stdout);
      return r.exitCode === 0;
    }, `laptop reaches http://10.20.2.5/${path}`, 60_000, 500);
    return out.trim();
  };
  assert.equal(await curl(''), 'hello over wireguard');
  const kib = Number((await curl('df')).split(/\s+/)[1]);
  assert.ok(kib > 900 * 1024 && kib <= 1024 * 1024, `the 1 GiB disk is mounted at /data (${kib} KiB)`);
  const ssh = await lab.exec(lab.laptop, 'ssh', ['-i', key, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes',
    '-o', 'ConnectTimeout=10', 'root@10.20.2.5', 'echo $MSG; hostname'], { reject: false });
  assert.equal(ssh.exitCode, 0, String(ssh.stderr));
  assert.match(String(ssh.stdout), /vm$/);
  await waitFor(() => received.includes('zlogs-marker'), `zlogs receiver got the console (so far: ${received.slice(-300)})`, 30_000);
  await waitFor(() => published.includes('zlogs-marker'), `zlogs redis channel got the console (so far: ${published.slice(-300)})`, 30_000);

  // A VM whose entrypoint keeps exiting is restarted, then its workload turns error with the console tail.
  const crash = await withContract(user, node.nodeId, (contractId) => signed(user, {
    ...build(contractId), workloads: [wl('crashy', 'zmachine', {
      ...(build(0).workloads[2]!.data as object), network: { public_ip: '', planetary: false, interfaces: [{ network: 'net1', ip: '10.20.2.6' }] },
      mounts: [], entrypoint: "/bin/sh -c 'exit 3'", env: {},
    })],
  } as Deployment));
  await rmb(user, node.twinId, 'zos.deployment.deploy', crash);
  const failed = await waitStates(user, node.twinId, crash.contract_id, (s) => s.crashy === 'error', 'crash loop -> error', 120_000);
  assert.match(failed.workloads[0]!.result.message, /entrypoint exited with status 3[\s\S]*vm crashed 2 times within 120 s$/);
  assert.deepEqual(await processesWith(`zos-vm:${user.twinId}-${crash.contract_id}-crashy`), [], 'no QEMU left for the failed VM');
  await user.account.cancelContract(crash.contract_id);

  // Grace period: the owner runs dry, the node pauses the VM (contract GracePeriod -> paused, QEMU
  // stopped, the page no longer answers); funded again (Created) it resumes and answers again.
  const dev = (method: string, params: unknown[]) => grid.client.run((c) => c.rpc.request(method, params));
  await dev('dev_setBalance', [user.identity.address, 1]);
  await dev('dev_timeTravel', [{ byMs: 6 * 3600_000 }]);
  await dev('dev_newBlock', [{ count: 12 }]);
  await waitStates(user, node.twinId, dl.contract_id, (s) => s.vm === 'paused', 'grace period -> vm paused', 90_000);
  assert.equal((await grid.client.query.contract(dl.contract_id))?.state.kind, 'GracePeriod');
  const paused = await lab.exec(lab.laptop, 'curl', ['-sf', '--max-time', '3', 'http://10.20.2.5/'], { reject: false });
  assert.notEqual(paused.exitCode, 0, 'a paused VM does not answer');
  await dev('dev_setBalance', [user.identity.address, (10n ** 15n).toString()]);
  await dev('dev_newBlock', [{ count: 12 }]);
  await waitStates(user, node.twinId, dl.contract_id, (s) => s.vm === 'ok', 'grace ended -> vm resumed', 90_000);
  assert.equal((await grid.client.query.contract(dl.contract_id))?.state.kind, 'Created');
  assert.equal(await curl(''), 'hello over wireguard');

  // kill -9: the VM keeps running and the restarted node adopts it (no second QEMU).
  const qemu = await processesWith(`zos-vm:${wlid}`);
  assert.equal(qemu.length, 1);
  await node.kill('SIGKILL');
  assert.deepEqual(await processesWith(`zos-vm:${wlid}`), qemu, 'the VM outlives the node');
  const node2 = await grid.startNode(0, { dataDir: node.dataDir, env: nodeEnv });
  const again = await waitStates(user, node2.twinId, dl.contract_id, (s) => s.vm === 'ok', 'vm still ok');
  assert.equal(again.workloads.find((w) => w.name === 'vm')!.result.state, 'ok');
  assert.equal(await curl(''), 'hello over wireguard');
  assert.deepEqual(await processesWith(`zos-vm:${wlid}`), qemu, 'adopted, never a second QEMU');

  // Cancel: QEMU, virtiofsd, the tap, the root overlay and its volume are gone.
  await user.account.cancelContract(dl.contract_id);
  await waitFor(async () => (await processesWith(join(node.dataDir, 'vms'))).length === 0, 'vm processes gone', 60_000);
  const links = async () => (await execa('ip', ['netns', 'exec', lab.nodes[0]!.ns, 'ip', '-o', 'link'])).stdout;
  await waitFor(async () => !/\b[tb]-/.test(await links()), 'tap and network bridge removed', 30_000);
  assert.deepEqual((await mountsUnder(join(node.dataDir, 'images'))), [], 'no root overlay left');
  await waitFor(async () => (await readdir(join(node.dataDir, 'storage/pools/default'))).every((f) => !f.startsWith('rootfs.')), 'root volume gone', 30_000);
});
