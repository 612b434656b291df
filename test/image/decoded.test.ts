import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, open, readdir, readFile, rename, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openImageStore, DirStore, ImageError } from '../../image/index.ts';
import { decodedOf } from '../../image/decoded.ts';
import { isRoot } from '../../image/fsutil.ts';
import { chunkAt, flipByte, makeRichTree, prng, tempDir } from './fixtures.ts';
import { assertSameTree } from './tree-compare.ts';

/**
 * A node's pull decodes every chunk into a pack in its image cache (image/decoded.ts) and
 * materialize reads those instead of decoding, then drops the pack; it is a cache and never
 * trusted: every file is proven by its BLAKE3, and one that fails is written again from the
 * store's sealed chunks (SPEC.md §7).
 */
async function pulled(t: TestContext) {
  const dir = await tempDir(t);
  const src = join(dir, 'src');
  await makeRichTree(src, { root: false, xattrs: false });
  await mkdir(join(src, 'big'));
  for (let i = 0; i < 3; i++) await writeFile(join(src, 'big', `blob${i}`), Buffer.concat([prng(400_000, 90 + i), Buffer.alloc(300_000, i)]));
  const hub = await DirStore.open(join(dir, 'hub'));
  const built = await (await openImageStore(join(dir, 'builder'))).build(src, { tag: 'app:1', store: hub, xattrs: 'skip' });
  const node = await openImageStore(join(dir, 'node'));
  t.after(() => node.close());
  const r = await node.pull('app:1', join(dir, 'hub'));
  assert.equal(r.digest, built.digest);
  const m = JSON.parse(Buffer.from(await node.store.getManifest(r.digest)).toString()) as { entries: Array<{ path: string; extents?: Array<{ id?: string; size?: number }> }> };
  const chunksOf = (path: string) => m.entries.find((e) => e.path === path)!.extents!.filter((x) => x.id).map((x) => ({ id: x.id!, size: x.size! }));
  const decoded = decodedOf(join(dir, 'node/cache/decoded'), r.digest);
  assert.ok(decoded, 'the pull left a pack and its index');
  return { dir, src, node, digest: r.digest, chunksOf, decoded };
}

const same = (tree: string, src: string) => assertSameTree(tree, src, { xattrs: false, owners: isRoot() });

test('decoded: a pull decodes every chunk into one pack, materialize reads it, not the store, then drops it', async (t) => {
  const { dir, src, node, digest, chunksOf, decoded } = await pulled(t);
  const tool = chunksOf('bin/tool')[0]!;
  const pack = await readFile(decoded.pack);
  const at = decoded.at[tool.id]!;
  assert.deepEqual(pack.subarray(at, at + tool.size), (await readFile(join(src, 'bin/tool'))).subarray(0, tool.size));
  // With the store's chunks out of the way, only the pack can make the tree.
  await rename(join(dir, 'node/store/chunks'), join(dir, 'sealed'));
  const r = await node.materialize('app:1');
  assert.equal(r.created, true);
  await same(r.path, src);
  await rename(join(dir, 'sealed'), join(dir, 'node/store/chunks'));
  assert.equal(decodedOf(join(dir, 'node/cache/decoded'), digest), undefined, 'its index is gone when materialize returns');
  await node.cache.settled(); // the pack itself is removed in the background
  await assert.rejects(stat(decoded.pack), { code: 'ENOENT' });
});

test('decoded: a changed or short pack is not trusted: files are written from the store, the pack is forgotten', async (t) => {
  const { dir, src, node, digest, chunksOf, decoded } = await pulled(t);
  await flipByte(decoded.pack, decoded.at[chunksOf('big/blob1')[0]!.id]! + 100);
  const last = Math.max(...Object.values(decoded.at));
  await truncate(decoded.pack, last + 10); // the last chunk short: read from the store
  const r = await node.materialize('app:1');
  await same(r.path, src);
  assert.equal(decodedOf(join(dir, 'node/cache/decoded'), digest), undefined);
});

test('decoded: a changed pack over a corrupt sealed chunk fails naming the chunk, nothing materialized', async (t) => {
  const { dir, node, chunksOf, decoded } = await pulled(t);
  const { id } = chunksOf('bin/tool')[0]!;
  await flipByte(decoded.pack, decoded.at[id]! + 40);
  const chunk = chunkAt(node.store, id);
  await flipByte(chunk.path, chunk.offset + 40);
  await assert.rejects(node.materialize('app:1'), (e: unknown) => e instanceof ImageError && e.code === 'CHUNK_CORRUPT' && e.message.includes(id) && e.message.includes('bin/tool'));
  assert.deepEqual(await readdir(join(dir, 'node/cache/images')), []);
});

test('decoded: an image built on the node (no pull) materializes from its sealed chunks', async (t) => {
  const { dir, src, node, digest } = await pulled(t);
  await writeFile(join(src, 'etc/extra'), 'local\n');
  const local = await node.build(src, { tag: 'local', xattrs: 'skip' });
  assert.notEqual(local.digest, digest);
  assert.deepEqual(await readdir(join(dir, 'node/cache/decoded/images')), [digest], 'only a pull decodes');
  const r = await node.materialize('local');
  await same(r.path, src);
});

test('decoded: a cache that cannot take a pack fails no pull; materialize decodes then', async (t) => {
  const dir = await tempDir(t);
  const src = join(dir, 'src');
  await makeRichTree(src, { root: false, xattrs: false });
  const hub = await DirStore.open(join(dir, 'hub'));
  await (await openImageStore(join(dir, 'builder'))).build(src, { tag: 'app:1', store: hub, xattrs: 'skip' });
  const node = await openImageStore(join(dir, 'node'));
  t.after(() => node.close());
  await mkdir(join(dir, 'node/cache'), { recursive: true });
  await writeFile(join(dir, 'node/cache/decoded'), 'a file where the directory would be');
  await node.pull('app:1', join(dir, 'hub'));
  const r = await node.materialize('app:1');
  await same(r.path, src);
});
