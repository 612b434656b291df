import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { mountsUnder } from '../helpers/host.ts';
import { join } from 'node:path';
import { execa } from 'execa';
import { openImageStore } from '../../image/index.ts';
import { silentLogger } from '../../lib/log.ts';
import { VmHost } from '../../node/host/vm/host.ts';
import type { GuestSeed } from '../../node/host/vm/seed.ts';
import type { VmSpec } from '../../node/host/vm/spec.ts';
import { buildTestImage, cleanupStack, curlIn, labNetns, processesWith, requireVmHost, sshKey, sshRun, tempDir } from './fixtures.ts';

const MiB = 1024 * 1024;

/**
 * The VM host on its own (no node): one VM from a verified image root over virtiofs with a
 * writable overlay, a disk, a shared directory and a tap on a bridge in a lab namespace; then
 * adoption by a second host instance, stop, and a crash loop. Three boots in all.
 */
test('vm host: boot from an image root, network, disk, share, SSH, adoption, stop leaves nothing, crash loop gives up', async (t) => {
  if (!(await requireVmHost(t))) return;
  const defer = cleanupStack(t);
  const dir = await tempDir(defer);
  const lab = await labNetns(defer, 77);
  const image = await buildTestImage(dir);
  const images = await openImageStore(join(dir, 'node-images'));
  defer(() => images.close());
  await images.pull('test/base:1', image.store);
  const root = await images.prepareRoot('test/base:1', '1-2-vm');
  defer(() => images.releaseRoot('1-2-vm'));

  const disk = join(dir, 'disk.raw');
  await execa('truncate', ['-s', '300M', disk]);
  await execa('mkfs.ext4', ['-q', '-F', disk]);
  const share = join(dir, 'share');
  await mkdir(share);
  const { key, pub } = await sshKey(dir);

  const vmDir = join(dir, 'vms');
  const failures: [string, string][] = [];
  const hostOpts = { dir: vmDir, log: silentLogger(), accel: 'tcg' as const, monitorMs: 300, restartBackoffMs: 200, maxCrashes: 2, onFailure: (id: string, m: string) => failures.push([id, m]) };
  const host = new VmHost(hostOpts);
  defer(() => host.close());
  await host.init();
  const entry = 'mkdir -p /www && echo "$GREETING" > /www/index.html && df -k /data > /www/df.txt && echo from-guest > /vol/hello && /sbin/zos-sshd && exec httpd -f -p 80 -h /www';
  const seed: GuestSeed = {
    hostname: 'vm',
    nics: [{ mac: '02:00:c6:12:4d:05', cidr: '198.18.77.5/24', gateway: lab.gateway, routes: ['0.0.0.0/0'] }],
    dns: [],
    disks: [{ device: 'vda', mountpoint: '/data' }],
    shares: [{ tag: 'vol', mountpoint: '/vol' }],
    sshKeys: [pub],
    env: { GREETING: "hello 'from' the entrypoint" },
    entrypoint: ['/bin/sh', '-c', entry],
  };
  const spec: VmSpec = {
    id: '1-2-vm',
    cpu: 1,
    memoryBytes: 256 * MiB,
    boot: { kind: 'container', seed },
    disks: [{ path: disk }],
    shares: [{ tag: 'vroot', path: root.path }, { tag: 'vol', path: share }],
    nics: [{ tap: `tz${process.pid % 100000}`, mac: '02:00:c6:12:4d:05', netns: lab.netns, bridge: lab.bridge }],
  };
  let active = host;
  defer(async () => {
    await active.stop('1-2-vm').catch(() => undefined);
    await active.stop('1-3-crash').catch(() => undefined);
  });
  const started = await host.start(spec);
  assert.equal(started.state, 'running');

  const index = await curlIn(lab.netns, 'http://198.18.77.5/').catch(async (err: Error) => {
    throw new Error(`${err.message}\nconsole:\n${await host.consoleTail('1-2-vm', 4096)}`);
  });
  assert.equal(index.trim(), "hello 'from' the entrypoint");
  const df = await curlIn(lab.netns, 'http://198.18.77.5/df.txt');
  const kib = Number(df.trim().split('\n').pop()!.trim().split(/\s+/)[1]);
  assert.ok(kib > 250 * 1024 && kib <= 300 * 1024, `disk of ~300M mounted at /data: ${df}`);
  assert.equal((await readFile(join(share, 'hello'), 'utf8')).trim(), 'from-guest');
  const ssh = await sshRun(lab.netns, key, '198.18.77.5', 'cat /proc/1/cmdline; hostname');
  assert.equal(ssh.exitCode, 0, ssh.stderr);
  assert.match(ssh.stdout, /vm$/);
  // The guest writes into its own layer, never into the shared image tree.
  await assert.rejects(stat(join(dir, 'node-images/cache/images', image.digest, 'www')));

  // A second host on the same directory (a node restarted after kill -9) adopts the VM.
  const pid = started.pid!;
  host.close();
  const host2 = new VmHost(hostOpts);
  active = host2;
  defer(() => host2.close());
  await host2.init();
  t.diagnostic('adopted');
  assert.equal(host2.info('1-2-vm')?.pid, pid);
  assert.equal((await host2.start(spec)).pid, pid, 'start of an adopted VM is a no-op');
  assert.deepEqual(await processesWith(`zos-vm:1-2-vm`), [pid], 'exactly one QEMU for the workload');
  await host2.pause('1-2-vm');
  await host2.resume('1-2-vm');
  assert.equal((await curlIn(lab.netns, 'http://198.18.77.5/')).trim(), "hello 'from' the entrypoint");

  await host2.stop('1-2-vm');
  assert.deepEqual(await processesWith(vmDir), [], 'no qemu or virtiofsd left');
  assert.notEqual((await execa('ip', ['-n', lab.netns, 'link', 'show', spec.nics[0]!.tap], { reject: false })).exitCode, 0, 'tap removed');
  await assert.rejects(stat(join(vmDir, '1-2-vm')), 'vm directory removed');

  // Crash loop: the entrypoint exits, the host restarts it once, then gives up with the console tail.
  const crash: VmSpec = { ...spec, id: '1-3-crash', nics: [], disks: [], shares: [{ tag: 'vroot', path: root.path }],
    boot: { kind: 'container', seed: { ...seed, nics: [], disks: [], shares: [], entrypoint: ['/bin/sh', '-c', 'exit 3'] } } };
  await host2.start(crash);
  t.diagnostic('crash vm started');
  const deadline = Date.now() + 60_000;
  while (!failures.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  assert.equal(failures[0]?.[0], '1-3-crash');
  assert.match(failures[0]![1], /entrypoint exited with status 3[\s\S]*: vm crashed 2 times within 120 s$/);
  assert.equal(host2.info('1-3-crash')?.state, 'failed');
  assert.deepEqual(await processesWith('zos-vm:1-3-crash'), []);
  await host2.stop('1-3-crash');
  await images.releaseRoot('1-2-vm');
  assert.deepEqual(await mountsUnder(dir), [], 'no mount left');
});
