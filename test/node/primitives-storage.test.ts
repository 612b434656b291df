// zmount and volume primitives against a real StorageHost (btrfs on loop).
import assert from 'node:assert/strict';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { StorageError, storageName } from '../../node/host/storage/index.ts';
import { NoActionNeeded } from '../../node/primitives/types.ts';
import { primitiveContext } from '../helpers/primitive-context.ts';
import { volumePrimitive } from '../../node/primitives/volume/index.ts';
import { zmountPrimitive } from '../../node/primitives/zmount/index.ts';
import { MiB, POOL_SIZE, needBtrfs, startHost } from './storage-env.ts';

// storage primitives read nothing of their deployment
const ctx = primitiveContext;

async function noActionResult(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    if (err instanceof NoActionNeeded) return err.result;
    throw err;
  }
  assert.fail('expected NoActionNeeded');
}

test('storage names: workload ids map to safe single path components', () => {
  const cases: Array<[string, string]> = [
    ['7-42-disk', '7-42-disk'],
    ['7-42-my_vol', '7-42-my_vol'],
    ['7-42-../../etc', '7-42-______etc'],
    ['-x', 'w-x'],
  ];
  for (const [id, want] of cases) assert.equal(storageName(id), want, id);
  assert.ok(storageName('1-2-' + 'a'.repeat(300)).length <= 128);
});

test('zmount: provision creates a sparse disk and returns {volume_id: wlid}; again with the same size is no action', async (t) => {
  if (!(await needBtrfs(t))) return;
  const { host } = await startHost(t);
  const zmount = zmountPrimitive(host);
  const c = ctx('disk');
  const result = await zmount.provision(c, { size: 100 * MiB });
  assert.deepEqual(result, { volume_id: '7-42-disk' });
  assert.equal(JSON.stringify(result), '{"volume_id":"7-42-disk"}');

  const disk = await host.diskInfo('7-42-disk');
  assert.equal(disk?.size, 100 * MiB);
  assert.ok((disk?.allocated ?? Infinity) <= 64 * 1024, 'sparse');
  assert.deepEqual(await noActionResult(zmount.provision(c, { size: 100 * MiB })), result);
});

test('zmount: grows on update or re-provision with a larger size, never shrinks', async (t) => {
  if (!(await needBtrfs(t))) return;
  const { host } = await startHost(t);
  const zmount = zmountPrimitive(host);
  const c = ctx('disk');
  await zmount.provision(c, { size: 100 * MiB });
  assert.deepEqual(await zmount.update!(c, { size: 150 * MiB }, { size: 100 * MiB }), { volume_id: '7-42-disk' });
  assert.equal((await host.diskInfo('7-42-disk'))?.size, 150 * MiB);
  assert.deepEqual(await zmount.provision(c, { size: 200 * MiB }), { volume_id: '7-42-disk' });
  assert.equal((await host.diskInfo('7-42-disk'))?.size, 200 * MiB);

  await assert.rejects(zmount.update!(c, { size: 50 * MiB }, { size: 200 * MiB }), (e) =>
    StorageError.is(e, 'SHRINK_NOT_ALLOWED'),
  );
  await assert.rejects(zmount.provision(c, { size: 50 * MiB }), (e) => StorageError.is(e, 'SHRINK_NOT_ALLOWED'));
  assert.equal((await host.diskInfo('7-42-disk'))?.size, 200 * MiB);
  await assert.rejects(zmount.update!(ctx('nope'), { size: MiB }, { size: MiB }), (e) => StorageError.is(e, 'NOT_FOUND'));
});

test('zmount: deprovision removes the disk and is idempotent; a failed provision leaves nothing', async (t) => {
  if (!(await needBtrfs(t))) return;
  const { host } = await startHost(t);
  const zmount = zmountPrimitive(host);
  const c = ctx('disk');
  const { path } = (await host.createDisk(storageName(c.workload.id), MiB))!;
  await zmount.deprovision(c, { size: MiB });
  await assert.rejects(stat(path), { code: 'ENOENT' });
  await zmount.deprovision(c, { size: MiB });

  await assert.rejects(zmount.provision(ctx('huge'), { size: 4 * POOL_SIZE }), (e) => StorageError.is(e, 'NO_SPACE'));
  assert.deepEqual(await host.listDisks(), []);
});

test('volume: provision creates a quota subvolume and returns {id: wlid}; again with the same size is no action', async (t) => {
  if (!(await needBtrfs(t))) return;
  const { host } = await startHost(t);
  const volume = volumePrimitive(host);
  const c = ctx('data');
  const result = await volume.provision(c, { size: 64 * MiB });
  assert.equal(JSON.stringify(result), '{"id":"7-42-data"}');
  const info = await host.subvolumeInfo('7-42-data');
  assert.equal(info?.size, 64 * MiB);
  assert.deepEqual(await noActionResult(volume.provision(c, { size: 64 * MiB })), result);
});

test('volume: update grows and shrinks, but not below what is in use', async (t) => {
  if (!(await needBtrfs(t))) return;
  const { host } = await startHost(t);
  const volume = volumePrimitive(host);
  const c = ctx('data');
  await volume.provision(c, { size: 64 * MiB });
  const { path } = (await host.subvolumeInfo('7-42-data'))!;
  await writeFile(join(path, 'f'), Buffer.alloc(20 * MiB, 7));

  assert.deepEqual(await volume.update!(c, { size: 128 * MiB }, { size: 64 * MiB }), { id: '7-42-data' });
  assert.equal((await host.subvolumeInfo('7-42-data'))?.size, 128 * MiB);
  await volume.update!(c, { size: 32 * MiB }, { size: 128 * MiB });
  assert.equal((await host.subvolumeInfo('7-42-data'))?.size, 32 * MiB);
  await assert.rejects(volume.update!(c, { size: 10 * MiB }, { size: 32 * MiB }), (e) => StorageError.is(e, 'BELOW_USED'));
  await assert.rejects(volume.provision(c, { size: 10 * MiB }), (e) => StorageError.is(e, 'BELOW_USED'));
  assert.equal((await host.subvolumeInfo('7-42-data'))?.size, 32 * MiB);
  await assert.rejects(volume.update!(ctx('nope'), { size: MiB }, { size: MiB }), (e) => StorageError.is(e, 'NOT_FOUND'));
});

test('volume: deprovision removes the subvolume and is idempotent; a failed provision leaves nothing', async (t) => {
  if (!(await needBtrfs(t))) return;
  const { host } = await startHost(t);
  const volume = volumePrimitive(host);
  const c = ctx('data');
  await volume.provision(c, { size: 16 * MiB });
  await volume.deprovision(c, { size: 16 * MiB });
  assert.equal(await host.subvolumeInfo('7-42-data'), undefined);
  await volume.deprovision(c, { size: 16 * MiB });

  await assert.rejects(volume.provision(ctx('huge'), { size: 4 * POOL_SIZE }), (e) => StorageError.is(e, 'NO_SPACE'));
  assert.deepEqual(await host.listSubvolumes(), []);
});
