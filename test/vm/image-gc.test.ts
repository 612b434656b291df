import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openImageStore } from '../../image/index.ts';
import { overlaySupported } from '../../image/roots.ts';
import { silentLogger } from '../../lib/log.ts';
import type { WorkloadType } from '../../node/model/types.ts';
import { collectImageCache, imagesUsed } from '../../node/primitives/zmachine/image-gc.ts';
import { requireHost } from '../helpers/host.ts';
import { makeRichTree, tempDir } from '../image/fixtures.ts';

const exists = (p: string) => stat(p).then(() => true, () => false);

/**
 * The machines' gc of the image cache (node/primitives/zmachine/image-gc.ts) on a real cache, no
 * VM needed: records of workloads the node no longer holds go, trees no record names go, a tree a
 * held VM's record names stays; while a held VM has no record, no tree goes; once per idle period.
 */
test('machine image gc: stale records and unused trees go, a used tree stays; none goes while a VM has no record', async (t) => {
  const dir = await tempDir(t);
  const src = join(dir, 'src');
  await makeRichTree(src, { root: false, xattrs: false });
  const node = await openImageStore(join(dir, 'images'));
  t.after(() => node.close());
  const a = await node.build(src, { tag: 'a', xattrs: 'skip' });
  await writeFile(join(src, 'extra'), 'b only\n');
  const b = await node.build(src, { tag: 'b', xattrs: 'skip' });
  const treeA = (await node.materialize('a')).path;
  const treeB = (await node.materialize('b')).path;
  assert.throws(() => node.cache.uses.set('../escape', a.digest), /bad image user/);
  assert.throws(() => node.cache.uses.set('7-1-vm', 'not-a-digest'), /bad image digest/);
  node.cache.uses.set('7-1-a', a.digest);
  node.cache.uses.set('7-2-b', b.digest); // its VM is gone (a removal a crash cut short)
  const images = async () => node;
  let period = 0;
  const idle = (holding: Array<[string, WorkloadType]>) =>
    collectImageCache(images, { workloads: [], log: silentLogger(), signal: new AbortController().signal, holding: new Map(holding), busy: () => false, period: ++period });

  // A held machine without a record (started before records existed): trees stay, stale records go.
  await idle([['7-1-a', 'zmachine'], ['7-3-old', 'zmachine-light'], ['7-4-disk', 'zmount']]);
  assert.deepEqual([...node.cache.uses.all()], [['7-1-a', a.digest]]);
  assert.ok(await exists(treeB), 'b kept: which image 7-3-old runs on is not known');

  await idle([['7-1-a', 'zmachine'], ['7-4-disk', 'zmount']]);
  assert.equal(await exists(treeB), false, 'b: no record names it');
  assert.ok(await exists(treeA), 'a: its VM runs on it');
  assert.equal((await node.materialize('a')).created, false);

  // Its VM removed (record deleted by the primitive's cleanup): a goes at the next idle period, as
  // machines used the image service in this process; a node that has no machine and used none
  // since its start does not even load the image code.
  node.cache.uses.delete('7-1-a');
  await idle([]);
  assert.ok(await exists(treeA), 'no machine, image service not used: nothing done');
  imagesUsed(images);
  await idle([]);
  assert.equal(await exists(treeA), false);
});

/**
 * A machine started by a version that wrote no record: its record comes from its overlay root's
 * lower tree (the mount table), so the trees no machine uses go without waiting for a redeploy.
 */
test('machine image gc: a machine without a record gets one from its overlay root, and unused trees go', async (t) => {
  if (!requireHost(t, await overlaySupported(), 'overlay roots need root and overlayfs in /proc/filesystems')) return;
  const dir = await tempDir(t);
  const src = join(dir, 'src');
  await makeRichTree(src, { root: false, xattrs: false });
  const node = await openImageStore(join(dir, 'images'), { rootMode: 'overlay' });
  t.after(() => node.close());
  const a = await node.build(src, { tag: 'a', xattrs: 'skip' });
  await writeFile(join(src, 'extra'), 'b only\n');
  await node.build(src, { tag: 'b', xattrs: 'skip' });
  const treeB = (await node.materialize('b')).path;
  const root = await node.prepareRoot('a', '7-3-old'); // as a VM of before: no cache.uses.set
  try {
    assert.equal(await node.rootImage('7-3-old'), a.digest);
    assert.equal(await node.rootImage('7-9-none'), undefined, 'no root: no image');
    await collectImageCache(async () => node, { workloads: [], log: silentLogger(), signal: new AbortController().signal, holding: new Map<string, WorkloadType>([['7-3-old', 'zmachine']]), busy: () => false, period: 1 });
    assert.deepEqual([...node.cache.uses.all()], [['7-3-old', a.digest]]);
    assert.equal(await exists(treeB), false, 'b: no machine runs on it');
    assert.equal(await readFile(join(root.path, 'extra'), 'utf8').catch(() => 'absent'), 'absent', 'the VM still sees its own image');
    assert.ok((await readdir(root.path)).length > 0);
  } finally {
    await node.releaseRoot('7-3-old'); // unmounted before tempDir's hook removes the directory
  }
});
