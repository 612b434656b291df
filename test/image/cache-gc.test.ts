import { test } from 'node:test';
import assert from 'node:assert/strict';
import { link, mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gcImageCache } from '../../image/cache-gc.ts';
import { decodedOf } from '../../image/decoded.ts';
import { DirStore, openImageStore } from '../../image/index.ts';
import { makeRichTree, richImage as setup, tempDir } from './fixtures.ts';

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
    keptObjects: live.length, removedObjects: 0, removedBytes: 0, movedObjects: 0, removedFanouts: 0, removedStaging: 0, skippedYoung: 0, removedTrees: 0, removedPacks: 0, stopped: false,
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
    keptObjects: live.length + 1, removedObjects: 2, removedBytes: 0, movedObjects: 0, removedFanouts: 1, removedStaging: 2, skippedYoung: 0, removedTrees: 0, removedPacks: 0, stopped: false,
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

/** Inodes of the regular files under a tree. */
async function inodes(tree: string): Promise<Set<number>> {
  const out = new Set<number>();
  for (const e of await readdir(tree, { recursive: true, withFileTypes: true })) if (e.isFile()) out.add((await stat(join(e.parentPath, e.name))).ino);
  return out;
}

test('cache gc with keep: a tree no user needs goes with the objects only it linked, at once; a kept tree and what it links stay; a stop ends the pass before the next tree', async (t) => {
  const dir = await tempDir(t);
  const src = join(dir, 'src');
  await makeRichTree(src, { root: false, xattrs: false });
  const node = await openImageStore(join(dir, 'node'));
  t.after(() => node.close());
  const a = await node.build(src, { tag: 'a', xattrs: 'skip' });
  await writeFile(join(src, 'only-in-b'), 'a file of b alone\n');
  const b = await node.build(src, { tag: 'b', xattrs: 'skip' });
  const treeA = (await node.materialize('a')).path;
  const treeB = (await node.materialize('b')).path;
  const cache = join(dir, 'node/cache');
  const objects = join(cache, 'objects');
  const onlyB = (await stat(join(treeB, 'only-in-b'))).ino;
  const ofA = await inodes(treeA);

  // A job waiting: nothing removed.
  const stopped = await gcImageCache(cache, { keep: new Set([a.digest]), stop: () => true });
  assert.equal(stopped.stopped, true);
  assert.equal(stopped.removedTrees, 0);
  assert.ok(await exists(treeB));

  // b unused: its tree, its record and the object only it linked go in one pass, young as they are; a's stay.
  const r = await gcImageCache(cache, { keep: new Set([a.digest]) });
  assert.equal(r.removedTrees, 1);
  assert.equal(r.removedObjects, 1, 'only-in-b: the one object a does not link');
  assert.equal(await exists(treeB), false);
  assert.equal(await exists(join(cache, 'images', `${b.digest}.state`)), false);
  const left = new Set(await Promise.all((await readdir(objects)).map(async (k) => (await stat(join(objects, k))).ino)));
  assert.equal(left.has(onlyB), false);
  for (const ino of ofA) assert.ok(left.has(ino), 'every object of the kept tree stays');
  assert.equal((await node.materialize('a')).created, false, 'the kept tree is still whole and verified');

  // Nothing kept: a goes too, then its objects; b materializes again from the store.
  const all = await gcImageCache(cache, { keep: new Set() });
  assert.equal(all.removedTrees, 1);
  assert.deepEqual(await readdir(objects), []);
  assert.equal((await node.materialize('b')).created, true);
});

test('cache gc: a pack of an image pulled but never materialized goes after the grace period, as does a pack no index names; a young one stays', async (t) => {
  const dir = await tempDir(t);
  const src = join(dir, 'src');
  await makeRichTree(src, { root: false, xattrs: false });
  const hub = await DirStore.open(join(dir, 'hub'));
  t.after(() => hub.close());
  await (await openImageStore(join(dir, 'builder'))).build(src, { tag: 'app:1', store: hub, xattrs: 'skip' });
  const node = await openImageStore(join(dir, 'node'));
  t.after(() => node.close());
  const { digest } = await node.pull('app:1', hub);
  const decoded = join(dir, 'node/cache/decoded');
  const pack = decodedOf(decoded, digest)!.pack;
  const orphan = join(decoded, 'packs', '.tmp-a-pull-that-died');
  await writeFile(orphan, 'partial');
  const cache = join(dir, 'node/cache');

  const young = await gcImageCache(cache);
  assert.equal(young.removedPacks, 0, 'within the grace period both stay');
  assert.ok(decodedOf(decoded, digest));

  const old = new Date(Date.now() - 2 * HOUR);
  await utimes(orphan, old, old);
  const one = await gcImageCache(cache);
  assert.equal(one.removedPacks, 1, 'the pack no index names, once old');
  assert.equal(await exists(orphan), false);
  assert.ok(await exists(pack), 'the pulled image\'s pack is still young');

  const later = await gcImageCache(cache, { now: Date.now() + 2 * HOUR });
  assert.equal(later.removedPacks, 1);
  assert.equal(decodedOf(decoded, digest), undefined);
  assert.equal(await exists(pack), false);
  assert.deepEqual(await readdir(join(decoded, 'packs')), []);
  const r = await node.materialize('app:1');
  assert.equal(r.created, true, 'materialized from the sealed chunks instead');
});
