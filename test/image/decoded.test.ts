import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, open, readdir, readFile, rename, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openImageStore, DirStore, ImageError } from '../../image/index.ts';
import { isRoot } from '../../image/fsutil.ts';
import { makeRichTree, prng, tempDir } from './fixtures.ts';
import { assertSameTree } from './tree-compare.ts';

/**
 * A node's pull decodes every chunk into its image cache (image/decoded.ts) and materialize reads
 * those instead of decoding; they are a cache and never trusted: every file is proven by its
 * BLAKE3, and one that fails is written again from the store's sealed chunks (SPEC.md §7).
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
  return { dir, src, node, digest: r.digest, chunksOf, decoded: join(dir, 'node/cache/decoded/chunks') };
}

const same = (tree: string, src: string) => assertSameTree(tree, src, { xattrs: false, owners: isRoot() });

test('decoded: a pull decodes every chunk into the cache, and materialize reads them, not the store', async (t) => {
  const { dir, src, node, digest, chunksOf, decoded } = await pulled(t);
  const tool = chunksOf('bin/tool')[0]!;
  assert.deepEqual(await readFile(join(decoded, tool.id)), (await readFile(join(src, 'bin/tool'))).subarray(0, tool.size));
  // With the store's chunks out of the way, only the decoded ones can make the tree.
  await rename(join(dir, 'node/store/chunks'), join(dir, 'sealed'));
  const r = await node.materialize('app:1');
  assert.equal(r.created, true);
  await same(r.path, src);
  await rename(join(dir, 'sealed'), join(dir, 'node/store/chunks'));
  assert.ok((await readdir(join(dir, 'node/cache/decoded/images'))).includes(digest));
});

test('decoded: a changed decoded chunk is not trusted: the file is written from the store and the chunk dropped', async (t) => {
  const { src, node, chunksOf, decoded } = await pulled(t);
  const [a, b] = chunksOf('big/blob1');
  const fh = await open(join(decoded, a!.id), 'r+');
  await fh.write(Buffer.from([0x5a ^ (await readFile(join(decoded, a!.id)))[100]!]), 0, 1, 100);
  await fh.close();
  await truncate(join(decoded, chunksOf('big/blob2')[0]!.id), 10); // short: read from the store
  const r = await node.materialize('app:1');
  await same(r.path, src);
  await assert.rejects(stat(join(decoded, a!.id)), { code: 'ENOENT' });
  await assert.rejects(stat(join(decoded, b!.id)), { code: 'ENOENT' }); // the file's other chunks too
});

test('decoded: a changed decoded chunk over a corrupt sealed one fails naming the chunk, nothing materialized', async (t) => {
  const { dir, node, chunksOf, decoded } = await pulled(t);
  const { id } = chunksOf('bin/tool')[0]!;
  for (const p of [join(decoded, id), node.store.chunkPath(id)]) {
    const fh = await open(p, 'r+');
    await fh.write(Buffer.from('XX'), 0, 2, 40);
    await fh.close();
  }
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

test('decoded: a cache that cannot take decoded chunks fails no pull; materialize decodes then', async (t) => {
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
