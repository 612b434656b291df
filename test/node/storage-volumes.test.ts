// Subvolumes with quotas and sparse vdisks on a real btrfs pool.
import assert from 'node:assert/strict';
import { open, stat, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { execa } from 'execa';
import { StorageError } from '../../node/host/storage/index.ts';
import { MiB, POOL_SIZE, needBtrfs, startHost } from './storage-env.ts';

/** libuv has no name for EDQUOT ("Unknown system error -122"), so compare errno numbers. */
const isEdquot = (err: NodeJS.ErrnoException | undefined): boolean => err?.errno === -constants.errno.EDQUOT;

/** Write `total` bytes in 1 MiB chunks; resolves with the error that stopped it, if any. */
async function fill(path: string, total: number): Promise<NodeJS.ErrnoException | undefined> {
  const fh = await open(path, 'w');
  const chunk = Buffer.alloc(MiB, 0xab);
  try {
    for (let done = 0; done < total; done += chunk.length) await fh.write(chunk);
    await fh.sync();
    return undefined;
  } catch (err) {
    return err as NodeJS.ErrnoException;
  } finally {
    await fh.close().catch(() => undefined);
  }
}

test('volume: the quota is enforced (writing past the limit fails with EDQUOT)', async (t) => {
  if (!(await needBtrfs(t))) return;
  const { host } = await startHost(t);
  const vol = await host.createSubvolume('1-2-data', 16 * MiB);
  assert.deepEqual(
    { name: vol.name, pool: vol.pool, size: vol.size, used: vol.used },
    { name: '1-2-data', pool: 'default', size: 16 * MiB, used: 0 },
  );
  const err = await fill(join(vol.path, 'big'), 32 * MiB);
  assert.ok(isEdquot(err), `expected EDQUOT, got ${err?.message ?? 'no error'}`);
  // A write well under the limit in another volume is fine: limits are per subvolume.
  const other = await host.createSubvolume('1-2-other', 16 * MiB);
  assert.equal(await fill(join(other.path, 'small'), 4 * MiB), undefined);
});

test('volume: resize grows, shrinks, and refuses to go below the bytes in use', async (t) => {
  if (!(await needBtrfs(t))) return;
  const { host } = await startHost(t);
  const vol = await host.createSubvolume('v', 32 * MiB);
  await writeFile(join(vol.path, 'f'), Buffer.alloc(12 * MiB, 1));

  const grown = await host.resizeSubvolume('v', 64 * MiB);
  assert.equal(grown.size, 64 * MiB);
  assert.ok(grown.used >= 12 * MiB, `used ${grown.used} counts the write`);

  const shrunk = await host.resizeSubvolume('v', 16 * MiB);
  assert.equal(shrunk.size, 16 * MiB);

  await assert.rejects(host.resizeSubvolume('v', 8 * MiB), (e) => StorageError.is(e, 'BELOW_USED') && e.isUserError);
  assert.equal((await host.subvolumeInfo('v'))?.size, 16 * MiB, 'a refused resize leaves the quota alone');
  await assert.rejects(host.resizeSubvolume('missing', MiB), (e) => StorageError.is(e, 'NOT_FOUND'));
});

test('volume: a volume filled to its limit can still be grown', async (t) => {
  if (!(await needBtrfs(t))) return;
  const { host } = await startHost(t);
  const vol = await host.createSubvolume('full', 8 * MiB);
  assert.ok(isEdquot(await fill(join(vol.path, 'f'), 16 * MiB)), 'filled to the limit');
  assert.equal((await host.resizeSubvolume('full', 32 * MiB)).size, 32 * MiB);
  assert.equal(await fill(join(vol.path, 'g'), 4 * MiB), undefined, 'room again after growing');
});

test('volume: list, exists and delete (deleting a missing volume is not an error)', async (t) => {
  if (!(await needBtrfs(t))) return;
  const { host } = await startHost(t);
  await host.createSubvolume('a', 8 * MiB);
  await host.createSubvolume('b', 16 * MiB);
  await assert.rejects(host.createSubvolume('a', 8 * MiB), (e) => StorageError.is(e, 'EXISTS'));
  const listed = (await host.listSubvolumes()).map((v) => [v.name, v.size]).sort();
  assert.deepEqual(listed, [['a', 8 * MiB], ['b', 16 * MiB]], 'the vdisks subvolume is not listed');

  await host.deleteSubvolume('a');
  assert.equal(await host.subvolumeInfo('a'), undefined);
  await host.deleteSubvolume('a');
  assert.deepEqual((await host.listSubvolumes()).map((v) => v.name), ['b']);
  const qgroups = (await execa('btrfs', ['qgroup', 'show', '--raw', host.pools[0]!.mountpoint])).stdout;
  assert.doesNotMatch(qgroups, /<stale>/, 'no stale qgroup left behind');
});

test('disk: created sparse in the NOCOW vdisks subvolume, grows only, and is deleted', async (t) => {
  if (!(await needBtrfs(t))) return;
  const { host } = await startHost(t);
  const disk = await host.createDisk('1-2-disk', 256 * MiB);
  assert.equal(disk.path, join(host.pools[0]!.mountpoint, 'vdisks', '1-2-disk'));
  const st = await stat(disk.path);
  assert.equal(st.size, 256 * MiB);
  assert.ok(st.blocks * 512 <= 64 * 1024, `sparse: ${st.blocks * 512} bytes allocated`);
  const attrs = (await execa('lsattr', [disk.path])).stdout.split(/\s+/)[0]!;
  assert.match(attrs, /C/, 'disk file inherits NOCOW');

  assert.equal((await host.resizeDisk('1-2-disk', 300 * MiB)).size, 300 * MiB);
  assert.equal((await host.resizeDisk('1-2-disk', 300 * MiB)).size, 300 * MiB, 'same size is a no-op');
  await assert.rejects(host.resizeDisk('1-2-disk', 100 * MiB), (e) => StorageError.is(e, 'SHRINK_NOT_ALLOWED'));
  assert.equal((await stat(disk.path)).size, 300 * MiB);
  await assert.rejects(host.createDisk('1-2-disk', MiB), (e) => StorageError.is(e, 'EXISTS'));
  assert.deepEqual((await host.listDisks()).map((d) => d.name), ['1-2-disk']);

  await host.deleteDisk('1-2-disk');
  assert.equal(await host.diskInfo('1-2-disk'), undefined);
  await host.deleteDisk('1-2-disk');
});

test('storage host: refuses bad names and sizes, and requests larger than what is left', async (t) => {
  if (!(await needBtrfs(t))) return;
  const { host } = await startHost(t);
  for (const name of ['', '../etc', 'a/b', 'vdisks', '.hidden', 'x'.repeat(200)]) {
    await assert.rejects(host.createSubvolume(name, MiB), (e) => StorageError.is(e, 'INVALID_NAME'), name);
    await assert.rejects(host.createDisk(name, MiB), (e) => StorageError.is(e, 'INVALID_NAME'), name);
  }
  for (const size of [0, -1, 1.5, Number.NaN, 2 ** 60]) {
    await assert.rejects(host.createSubvolume('ok', size), (e) => StorageError.is(e, 'INVALID_SIZE'), String(size));
  }
  await host.createDisk('big', POOL_SIZE - 8 * MiB);
  await assert.rejects(host.createSubvolume('more', 16 * MiB), (e) => StorageError.is(e, 'NO_SPACE'));
  assert.equal(await host.subvolumeInfo('more'), undefined);
});

test('storage host: a resize that grows past what the pool has left is refused like a create (NO_SPACE), the object keeps its size', async (t) => {
  if (!(await needBtrfs(t))) return;
  const { host } = await startHost(t);
  await host.createDisk('d', 64 * MiB);
  await host.createSubvolume('v', 64 * MiB);
  // Before, resizes skipped the pool check: both grew past the pool, promising more than it holds.
  await assert.rejects(host.resizeDisk('d', POOL_SIZE), (e) => StorageError.is(e, 'NO_SPACE'));
  await assert.rejects(host.resizeSubvolume('v', POOL_SIZE), (e) => StorageError.is(e, 'NO_SPACE'));
  assert.equal((await host.diskInfo('d'))?.size, 64 * MiB);
  assert.equal((await host.subvolumeInfo('v'))?.size, 64 * MiB);
  // growing within what is left still works, and shrinking needs no room
  assert.equal((await host.resizeDisk('d', 128 * MiB)).size, 128 * MiB);
  assert.equal((await host.resizeSubvolume('v', 32 * MiB)).size, 32 * MiB);
});

test('volume: a create whose quota cannot be set is undone (no subvolume left)', async (t) => {
  if (!(await needBtrfs(t))) return;
  const { host } = await startHost(t);
  const mnt = host.pools[0]!.mountpoint;
  // With quotas off, `btrfs qgroup limit` fails after the subvolume was created.
  await execa('btrfs', ['quota', 'disable', mnt]);
  await assert.rejects(host.pools[0]!.createSubvolume('half', 8 * MiB), (e: Error) => /qgroup limit/.test(e.message));
  await assert.rejects(stat(join(mnt, 'half')), { code: 'ENOENT' });
});

test('storage host: an aborted signal stops an operation before it runs a command', async (t) => {
  if (!(await needBtrfs(t))) return;
  const { host } = await startHost(t);
  const ac = new AbortController();
  ac.abort(new Error('shutting down'));
  await assert.rejects(host.createSubvolume('v', MiB, { signal: ac.signal }), /shutting down/);
  assert.equal(await host.subvolumeInfo('v'), undefined);
});
