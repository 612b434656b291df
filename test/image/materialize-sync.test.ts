import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, open, readFile, readdir, stat } from 'node:fs/promises';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { ImageCache } from '../../image/index.ts';
import { ImageError } from '../../image/errors.ts';
import { repackChunk, richImage as setup } from './fixtures.ts';

/** Materialize's durability (a syncfs after the whole tree is written and before it is renamed into place) and store read errors on the worker path. */

const exists = (p: string) => stat(p).then(() => true, () => false);

test('materialize: one syncfs for a small tree, no fsync per file: after every object and link is written, before the tree is renamed into place', async (t) => {
  const { dir, node, digest } = await setup(t);
  const seen: Array<{ path: string; treeThere: boolean; toolThere: boolean; objects: number }> = [];
  const cache: ImageCache = new ImageCache(join(dir, 'cache'), {
    syncFs: async (path) => {
      const objects = (await readdir(join(dir, 'cache/objects'))).length;
      seen.push({ path, treeThere: await exists(cache.treePath(digest)), toolThere: await exists(join(path, 'bin/tool')), objects });
    },
  });
  const r = await cache.materialize(node.store, digest);
  assert.equal(r.created, true);
  assert.equal(seen.length, 1, 'one sync for the whole tree, not one per file');
  const [only] = seen as [(typeof seen)[number]];
  assert.equal(only.treeThere, false, 'before the rename into images/');
  assert.ok(only.objects >= 5, `every object is written when synced (${only.objects})`);
  assert.equal(only.toolThere, true, 'the staged tree is complete at the sync');
  assert.ok(only.path.startsWith(join(dir, 'cache/tmp/')), only.path);
  assert.equal((await cache.materialize(node.store, digest)).created, false);
  assert.equal(seen.length, 1, 'an existing tree is not synced again');
});

test('materialize: a failing sync leaves no tree and no staging', async (t) => {
  const { dir, node, digest } = await setup(t);
  const cache = new ImageCache(join(dir, 'cache'), {
    syncFs: async () => {
      throw new ImageError('HOST', 'sync failed (injected)');
    },
  });
  await assert.rejects(cache.materialize(node.store, digest), /sync failed \(injected\)/);
  assert.deepEqual(await readdir(join(dir, 'cache/tmp')), []);
  assert.deepEqual(await readdir(join(dir, 'cache/images')), []);
  // the default sync (syncfs through `sync -f`) works on this host
  assert.equal((await new ImageCache(join(dir, 'cache')).materialize(node.store, digest)).created, true);
});

test('verify and materialize: a chunk missing from the store is NOT_FOUND naming the file; nothing is left half-made', async (t) => {
  const { dir, node, digest } = await setup(t);
  const manifest = JSON.parse(Buffer.from(await node.store.getManifest(digest)).toString()) as { entries: Array<{ path: string; extents?: Array<{ id?: string }> }> };
  await repackChunk(node.store.location, manifest.entries.find((e) => e.path === 'bin/tool')!.extents![0]!.id!, undefined);
  const notFound = (e: unknown) => e instanceof ImageError && e.code === 'NOT_FOUND' && /bin\/tool/.test(e.message) && /not in store/.test(e.message);
  await assert.rejects(node.verify('app'), notFound);
  await assert.rejects(node.materialize('app'), notFound);
  assert.deepEqual(await readdir(join(dir, 'node/cache/tmp')), []);
  assert.deepEqual(await readdir(join(dir, 'node/cache/images')), []);
});

test('materialize: existing objects are hashed again; a changed one is written anew from chunks, intact ones are kept', async (t) => {
  const { dir, node, digest } = await setup(t);
  const first = await node.materialize('app');
  const tool = join(first.path, 'bin/tool');
  const hostname = join(first.path, 'etc/hostname');
  const hostnameIno = (await stat(hostname)).ino;
  const want = await readFile(join(dir, 'src/bin/tool'));
  const fh = await open(tool, 'r+'); // the object itself: the tree's file is a hard link to it
  await fh.write(Buffer.from([want[1000]! ^ 0xff]), 0, 1, 1000);
  await fh.close();
  await node.cache.remove(digest);
  const again = await node.materialize('app');
  assert.equal(again.created, true);
  // (not by inode: ext4 may hand the removed object's inode number to its new copy)
  assert.ok((await readFile(join(again.path, 'bin/tool'))).equals(want), 'the changed object was written anew from chunks');
  const objects = join(dir, 'node/cache/objects');
  const inodes = await Promise.all((await readdir(objects)).map(async (k) => (await stat(join(objects, k))).ino));
  assert.ok(inodes.includes((await stat(join(again.path, 'bin/tool'))).ino), 'the new copy replaced the changed one under its object name');
  assert.equal((await stat(join(again.path, 'etc/hostname'))).ino, hostnameIno, 'an intact object is linked again');
});

test('materialize: the staged tree is checked while the syncfs waits; its record matches the renamed tree, and a bad entry stops it before the rename', async (t) => {
  const { dir, node, digest } = await setup(t);
  const cache = new ImageCache(join(dir, 'cache'));
  const r = await cache.materialize(node.store, digest);
  assert.equal(r.created, true);
  const state = JSON.parse(await readFile(cache.statePath(digest), 'utf8')) as { entries: Record<string, string[]> };
  for (const [path, tuple] of Object.entries(state.entries)) {
    const st = await lstat(path === '.' ? r.path : join(r.path, path), { bigint: true });
    assert.deepEqual(tuple, [st.dev, st.ino, st.size, st.mtimeNs, st.ctimeNs].map(String), `recorded tuple of ${path} (the root's after the rename)`);
  }
  const recorded = (await stat(cache.statePath(digest))).mtimeMs;
  assert.equal((await cache.materialize(node.store, digest)).verify.rehashed, 0);
  assert.equal((await stat(cache.statePath(digest))).mtimeMs, recorded, 'nothing changed: the record is not written again');

  // A staged entry changed during the sync is caught before the tree gets its name.
  const bad = new ImageCache(join(dir, 'bad'), {
    syncFs: async (staged) => chmodSync(join(staged, 'etc/hostname'), 0o666), // at once, as the sync starts
  });
  await assert.rejects(bad.materialize(node.store, digest), (e: unknown) => {
    assert.ok(e instanceof ImageError && e.code === 'FILE_TAMPERED', String(e));
    assert.match(e.message, new RegExp(`"etc/hostname" in ${bad.treePath(digest)} has mode 666`));
    return true;
  });
  assert.deepEqual(await readdir(join(dir, 'bad/tmp')), []);
  assert.deepEqual(await readdir(join(dir, 'bad/images')), []);
});
