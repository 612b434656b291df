import { test } from 'node:test';
import assert from 'node:assert/strict';
import { link, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gcImageCache } from '../../image/cache-gc.ts';
import { richImage as setup } from './fixtures.ts';

const HOUR = 60 * 60 * 1000;
const key = (c: string) => c.repeat(64);
const exists = (p: string) => stat(p).then(() => true, () => false);

/**
 * The materialize cache's GC on a real cache (the rich test image materialized): objects a tree
 * links stay, orphans (link count 1) go once older than the grace period, stale staging and the
 * fan-out directories of older caches go, an object an old tree still links there is kept under
 * its flat name, and the cache materializes the image again afterwards.
 */
test('cache gc: orphans, stale staging and old fan-out go; what a tree links stays; young things wait for the grace period', async (t) => {
  const { dir, node, digest } = await setup(t);
  const first = await node.materialize('app');
  const cache = join(dir, 'node/cache');
  const objects = join(cache, 'objects');
  const live = (await readdir(objects)).sort();
  assert.ok(live.length >= 5, `objects: ${live.length}`);
  const later = Date.now() + 2 * HOUR;

  assert.deepEqual(await gcImageCache(cache, { now: later }), {
    keptObjects: live.length, removedObjects: 0, removedBytes: 0, movedObjects: 0, removedFanouts: 0, removedStaging: 0, skippedYoung: 0,
  }, 'every object of a materialized tree is linked by it');

  // An older cache's leftovers: fan-out objects (one orphan; one an old tree links, whose flat
  // name is free; one whose flat name exists), a staging dir of the old layout, and a staging
  // tree of a materialize that died, linking an object of its own.
  const oldTree = join(cache, 'images', key('e'));
  await mkdir(oldTree, { recursive: true });
  await mkdir(join(objects, 'aa'));
  await mkdir(join(objects, 'bb'));
  await writeFile(join(objects, 'aa', key('a')), 'orphan of the old layout');
  await writeFile(join(objects, 'bb', key('b')), 'linked by an old tree');
  await link(join(objects, 'bb', key('b')), join(oldTree, 'b'));
  // Its tree may link it more than once (hard links in the image): what it had before is what it keeps.
  const liveLinks = (await stat(join(objects, live[0]!))).nlink;
  await link(join(objects, live[0]!), join(objects, 'bb', live[0]!));
  await mkdir(join(cache, 'tmp', 'obj-123-abcd'), { recursive: true });
  const staged = join(cache, 'tmp', 'tree-0123456789abcdef-aabbcc');
  await mkdir(staged, { recursive: true });
  await writeFile(join(objects, key('c')), 'only a dead staging links it');
  await link(join(objects, key('c')), join(staged, 'c'));
  await writeFile(join(objects, 'not-an-object'), 'a name gc does not know');

  const young = await gcImageCache(cache);
  assert.equal(young.removedObjects + young.removedStaging, 0, 'nothing changed within the grace period goes');
  assert.equal(young.skippedYoung, 3, 'the fan-out orphan and both staging dirs wait');
  assert.equal(young.movedObjects, 1, 'the old tree\'s object gets its flat name at once');
  assert.equal(young.removedFanouts, 1, 'bb/ emptied; aa/ still holds the young orphan');
  assert.ok(await exists(join(objects, key('b'))));
  assert.equal(await readFile(join(oldTree, 'b'), 'utf8'), 'linked by an old tree');
  assert.equal((await stat(join(objects, live[0]!))).nlink, liveLinks, 'an object with its flat name loses only the fan-out one');

  const r = await gcImageCache(cache, { now: later });
  assert.deepEqual({ ...r, removedBytes: 0 }, {
    keptObjects: live.length + 1, removedObjects: 2, removedBytes: 0, movedObjects: 0, removedFanouts: 1, removedStaging: 2, skippedYoung: 0,
  });
  assert.equal(r.removedBytes, 'orphan of the old layout'.length + 'only a dead staging links it'.length);
  assert.deepEqual((await readdir(objects)).sort(), [...live, key('b'), 'not-an-object'].sort(), 'flat objects only; unknown names left');
  assert.deepEqual(await readdir(join(cache, 'tmp')), []);

  // The image's tree removed: its objects are orphans, kept while young, then removed; the old
  // tree's object stays. The image materializes again from the store.
  await node.cache.remove(digest);
  assert.equal((await gcImageCache(cache)).removedObjects, 0);
  const gone = await gcImageCache(cache, { now: later });
  assert.equal(gone.removedObjects, live.length);
  assert.deepEqual((await readdir(objects)).sort(), [key('b'), 'not-an-object']);
  const again = await node.materialize('app');
  assert.equal(again.created, true);
  assert.equal(again.path, first.path);
  assert.equal((await readdir(objects)).length, live.length + 2);
});
