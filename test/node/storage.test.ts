// Pool lifecycle on real btrfs over real loop devices.
import assert from 'node:assert/strict';
import { open, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { execa } from 'execa';
import { silentLogger } from '../../lib/log.ts';
import { StorageError, StorageHost } from '../../node/host/storage/index.ts';
import { POOL_SIZE, MiB, defer, leftovers, needBtrfs, startHost, tempDir } from './storage-env.ts';
import { cleanupHostState } from '../helpers/host.ts';

async function fstypeAt(path: string): Promise<string | undefined> {
  const line = (await readFile('/proc/self/mounts', 'utf8')).split('\n').find((l) => l.split(' ')[1] === path);
  return line?.split(' ')[2];
}

test('storage pool: creates a sparse image, mounts btrfs with quotas and a NOCOW vdisks subvolume', async (t) => {
  if (!(await needBtrfs(t))) return;
  const { host, dataDir } = await startHost(t);
  const pool = host.pools[0]!;
  assert.equal(pool.mountpoint, join(dataDir, 'pools', 'default'));
  assert.equal(pool.image, join(dataDir, 'pools', 'default.img'));

  const img = await stat(pool.image!);
  assert.equal(img.size, POOL_SIZE);
  assert.ok(img.blocks * 512 < 64 * MiB, `image should be sparse, has ${img.blocks * 512} bytes allocated`);
  assert.equal(await fstypeAt(pool.mountpoint), 'btrfs');
  assert.equal((await pool.loopDevices()).length, 1);

  const attrs = await execa('lsattr', ['-d', join(pool.mountpoint, 'vdisks')]);
  assert.match(attrs.stdout.split(/\s+/)[0]!, /C/, 'vdisks directory must be NOCOW');
  const quota = await execa('btrfs', ['qgroup', 'show', pool.mountpoint], { reject: false });
  assert.equal(quota.exitCode, 0, `quotas must be enabled: ${quota.stderr}`);

  const [info] = await host.poolsInfo();
  assert.equal(info!.name, 'default');
  assert.equal(info!.type, 'ssd');
  assert.equal(info!.size, POOL_SIZE);
  assert.ok(info!.used > 0 && info!.used < POOL_SIZE);
  assert.deepEqual(await host.totals(), { sru: POOL_SIZE, hru: 0 });
});

test('storage pool: an unmount reaches a mount namespace made while the pool was mounted (ip netns exec), so close frees the loop device', async (t) => {
  if (!(await needBtrfs(t))) return;
  const { host, dataDir } = await startHost(t);
  const pool = host.pools[0]!;
  // What `ip netns exec` does: a new mount namespace whose copy of the mounts is a slave.
  const holder = execa('unshare', ['-m', '--propagation', 'slave', 'sleep', '120'], { reject: false });
  defer(t, async () => {
    holder.kill('SIGKILL');
    await holder;
  });
  const mountsOf = () => readFile(`/proc/${holder.pid}/mounts`, 'utf8').then((m) => m.split('\n').map((l) => l.split(' ')[1] ?? ''));
  for (let i = 0; i < 100 && !(await mountsOf().catch((): string[] => [])).includes(pool.mountpoint); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok((await mountsOf()).includes(pool.mountpoint), 'the namespace holds a copy of the pool mount');
  await host.close();
  assert.ok(!(await mountsOf()).includes(pool.mountpoint), 'the unmount reached the copy');
  assert.deepEqual(await leftovers(dataDir), { mounts: [], loops: [] }, 'the loop device is free while the namespace lives');
});

test('storage pool: close unmounts and detaches; a new host re-attaches with the data intact', async (t) => {
  if (!(await needBtrfs(t))) return;
  const dataDir = await tempDir(t);
  const first = await startHost(t, { dataDir });
  const vol = await first.host.createSubvolume('keep', 64 * MiB);
  await writeFile(join(vol.path, 'hello.txt'), 'survives');
  await first.host.createDisk('disk1', 100 * MiB);
  await first.host.close();
  await first.host.close(); // idempotent
  assert.deepEqual(await leftovers(dataDir), { mounts: [], loops: [] });

  const second = await startHost(t, { dataDir });
  assert.equal(await readFile(join(vol.path, 'hello.txt'), 'utf8'), 'survives');
  assert.equal((await second.host.subvolumeInfo('keep'))?.size, 64 * MiB, 'quota survives');
  assert.equal((await second.host.diskInfo('disk1'))?.size, 100 * MiB);
  await second.host.close();
  assert.deepEqual(await leftovers(dataDir), { mounts: [], loops: [] });
});

test('storage pool: keepMounted leaves the pool attached and the next start adopts it', async (t) => {
  if (!(await needBtrfs(t))) return;
  const dataDir = await tempDir(t);
  const first = await startHost(t, { dataDir, keepMounted: true });
  const loops = await first.host.pools[0]!.loopDevices();
  await first.host.createSubvolume('v', 16 * MiB);
  await first.host.close();
  const left = await leftovers(dataDir);
  // The pool and its shared parent (see sharePoolsDir).
  const mounted = [join(dataDir, 'pools'), join(dataDir, 'pools', 'default')];
  assert.deepEqual(left.mounts, mounted, 'still mounted after close with keepMounted');
  assert.deepEqual(left.loops, loops);

  const second = await startHost(t, { dataDir });
  assert.deepEqual(await second.host.pools[0]!.loopDevices(), loops, 'the existing loop device is re-used');
  assert.deepEqual((await leftovers(dataDir)).mounts, mounted, 'not mounted twice');
  assert.ok(await second.host.subvolumeInfo('v'));
  await second.host.close();
  assert.deepEqual(await leftovers(dataDir), { mounts: [], loops: [] });

  // release: true unmounts a keepMounted host (tests, decommissioning); close() after that is a no-op.
  const third = await startHost(t, { dataDir, keepMounted: true });
  await third.host.close();
  assert.deepEqual((await leftovers(dataDir)).mounts, mounted);
  await third.host.close({ release: true });
  assert.deepEqual(await leftovers(dataDir), { mounts: [], loops: [] });
});

test('storage pool: cleanupHostState (zos up, test grids) frees the loop device of a pool a node left mounted', async (t) => {
  if (!(await needBtrfs(t))) return;
  const dataDir = await tempDir(t);
  const { host } = await startHost(t, { dataDir, keepMounted: true });
  const [device] = await host.pools[0]!.loopDevices();
  await host.close();
  await cleanupHostState(dataDir);
  assert.deepEqual(await leftovers(dataDir), { mounts: [], loops: [] });
  // By name: once the pools' parent is unmounted, a leaked device's file no longer shows under dataDir.
  const attached = (await execa('losetup', ['-n', '-O', 'NAME', '-l'])).stdout.split('\n').map((l) => l.trim());
  assert.ok(!attached.includes(device!), `${device} is still attached`);
});

test('storage pool: start re-mounts an image whose loop device is still attached', async (t) => {
  if (!(await needBtrfs(t))) return;
  const dataDir = await tempDir(t);
  const first = await startHost(t, { dataDir, keepMounted: true });
  const loops = await first.host.pools[0]!.loopDevices();
  await first.host.close();
  await execa('umount', [first.host.pools[0]!.mountpoint]);

  const second = await startHost(t, { dataDir });
  assert.deepEqual(await second.host.pools[0]!.loopDevices(), loops);
  assert.equal(await fstypeAt(second.host.pools[0]!.mountpoint), 'btrfs');
  await second.host.close();
  assert.deepEqual(await leftovers(dataDir), { mounts: [], loops: [] });
});

test('storage pool: a larger configured size grows the image and the filesystem', async (t) => {
  if (!(await needBtrfs(t))) return;
  const dataDir = await tempDir(t);
  const first = await startHost(t, { dataDir });
  await first.host.close();
  const second = await startHost(t, { dataDir, pools: [{ name: 'default', image: { size: 2 * POOL_SIZE } }] });
  assert.equal((await second.host.poolsInfo())[0]!.size, 2 * POOL_SIZE);
});

test('storage host: start is idempotent, use before start or after close is refused', async (t) => {
  if (!(await needBtrfs(t))) return;
  const dataDir = await tempDir(t);
  const host = new StorageHost({ log: silentLogger(), dataDir, pools: [{ name: 'default', image: { size: POOL_SIZE } }] });
  defer(t, () => host.close());
  await assert.rejects(host.listDisks(), (e) => StorageError.is(e, 'NOT_STARTED'));
  await host.start();
  await host.start();
  assert.equal((await leftovers(dataDir)).loops.length, 1);
  await host.close();
  await assert.rejects(host.listSubvolumes(), (e) => StorageError.is(e, 'CLOSED'));
  await assert.rejects(host.start(), (e) => StorageError.is(e, 'CLOSED'));
});

test('storage host: rejects invalid configuration with a clear error', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['bad pool name', [{ name: 'Bad Name', image: { size: POOL_SIZE } }], /pool name must match/],
    ['tiny image', [{ name: 'p', image: { size: 1024 } }], /pools\[0\]\.image\.size/],
    ['duplicate names', [{ name: 'p' }, { name: 'p' }], /pool names must be unique/],
    ['device not under /dev', [{ name: 'p', devices: ['/tmp/x'] }], /device must be a \/dev path/],
  ];
  for (const [name, pools, re] of cases) {
    assert.throws(
      () => new StorageHost({ log: silentLogger(), dataDir: '/nonexistent', pools: pools as never }),
      (e) => StorageError.is(e) && re.test(e.message),
      name,
    );
  }
});

/** A loop device over a fresh image, detached when the test ends; stands in for a real disk. */
async function fakeDisk(t: import('node:test').TestContext, dir: string, name: string): Promise<string> {
  const img = join(dir, `${name}.disk`);
  await execa('truncate', ['-s', String(POOL_SIZE), img]);
  const dev = (await execa('losetup', ['--find', '--show', img])).stdout.trim();
  defer(t, () => execa('losetup', ['-d', dev], { reject: false }));
  return dev;
}

test('storage pool: never formats a device holding another filesystem unless forced', async (t) => {
  if (!(await needBtrfs(t))) return;
  const dir = await tempDir(t);
  const dev = await fakeDisk(t, dir, 'ext');
  await execa('mkfs.ext4', ['-q', '-F', dev]);
  const pools = [{ name: 'disks', type: 'ssd' as const, devices: [dev] }];

  const refused = new StorageHost({ log: silentLogger(), dataDir: dir, pools });
  await assert.rejects(refused.start(), (e) => StorageError.is(e, 'FOREIGN_FILESYSTEM') && e.message.includes('ext4'));
  await refused.close();
  assert.equal((await execa('blkid', ['-p', '-o', 'value', '-s', 'TYPE', dev])).stdout.trim(), 'ext4', 'untouched');
  assert.deepEqual((await leftovers(dir)).mounts, []);

  const forced = new StorageHost({ log: silentLogger(), dataDir: dir, pools: [{ ...pools[0]!, force: true }] });
  defer(t, () => forced.close());
  await forced.start();
  await forced.createSubvolume('marker', 8 * MiB);
  await forced.close();

  // Our own label is recognised: no mkfs on the next start, so the subvolume is still there.
  const again = new StorageHost({ log: silentLogger(), dataDir: dir, pools });
  defer(t, () => again.close());
  await again.start();
  assert.ok(await again.subvolumeInfo('marker'));
  assert.deepEqual(await again.totals(), { sru: POOL_SIZE, hru: 0 });
  await again.close();
  assert.deepEqual((await leftovers(dir)).mounts, []);
});

test('storage pool: formats a blank device and detects its type from /sys', async (t) => {
  if (!(await needBtrfs(t))) return;
  const dir = await tempDir(t);
  const dev = await fakeDisk(t, dir, 'blank');
  const host = new StorageHost({ log: silentLogger(), dataDir: dir, pools: [{ name: 'hdd1', devices: [dev] }] });
  defer(t, () => host.close());
  await host.start();
  const rotational = (await readFile(`/sys/class/block/${dev.slice(5)}/queue/rotational`, 'utf8')).trim();
  const [info] = await host.poolsInfo();
  assert.equal(info!.type, rotational === '1' ? 'hdd' : 'ssd');
  assert.equal((await execa('blkid', ['-p', '-o', 'value', '-s', 'LABEL', dev])).stdout.trim(), 'zos-hdd1');
  await host.close();
});

test('storage pool: one pool over two blank devices survives a restart', async (t) => {
  if (!(await needBtrfs(t))) return;
  const dir = await tempDir(t);
  const devices = [await fakeDisk(t, dir, 'd1'), await fakeDisk(t, dir, 'd2')];
  const pools = [{ name: 'multi', type: 'ssd' as const, devices }];
  const first = new StorageHost({ log: silentLogger(), dataDir: dir, pools });
  defer(t, () => first.close());
  await first.start();
  assert.equal((await first.poolsInfo())[0]!.size, 2 * POOL_SIZE);
  await first.createDisk('d', 700 * MiB);
  await first.close();

  const second = new StorageHost({ log: silentLogger(), dataDir: dir, pools });
  defer(t, () => second.close());
  await second.start();
  assert.equal((await second.diskInfo('d'))?.size, 700 * MiB);
  await second.close();
  assert.deepEqual((await leftovers(dir)).mounts, []);
});

test('storage pool: close fails while the pool is busy and a later close releases it', async (t) => {
  if (!(await needBtrfs(t))) return;
  const dataDir = await tempDir(t);
  const { host } = await startHost(t, { dataDir });
  const vol = await host.createSubvolume('busy', 8 * MiB);
  const fh = await open(join(vol.path, 'held-open'), 'w');
  defer(t, () => fh.close());
  await assert.rejects(host.close(), (e: Error) => /umount/.test(String((e as AggregateError).errors?.[0]?.message)));
  assert.deepEqual((await leftovers(dataDir)).mounts, [join(dataDir, 'pools'), join(dataDir, 'pools', 'default')]);
  await fh.close();
  await host.close();
  assert.deepEqual(await leftovers(dataDir), { mounts: [], loops: [] });
});
