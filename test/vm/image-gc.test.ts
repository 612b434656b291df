import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openImageStore } from '../../image/index.ts';
import { silentLogger } from '../../lib/log.ts';
import type { WorkloadType } from '../../node/model/types.ts';
import { collectImageCache, imagesUsed } from '../../node/primitives/zmachine/image-gc.ts';
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
