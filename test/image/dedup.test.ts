import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { join } from 'node:path';
import { openImageStore } from '../../image/index.ts';
import { serveStore } from '../../image/serve.ts';
import { prng, storedChunkIds, tempDir } from './fixtures.ts';


async function makeVersions(dir: string): Promise<{ a: string; b: string }> {
  const a = join(dir, 'a');
  await mkdir(join(a, 'lib'), { recursive: true });
  for (let i = 0; i < 20; i++) await writeFile(join(a, 'lib', `f${i}.so`), prng(200_000 + i * 1000, 100 + i));
  const b = join(dir, 'b');
  await execa('cp', ['-a', a, b]); // exact ns mtimes (Node's cp rounds them through a double)
  await writeFile(join(b, 'lib', 'f3.so'), prng(203_000, 9999)); // changed
  await writeFile(join(b, 'lib', 'new.so'), prng(50_000, 4242)); // added
  return { a, b };
}

/** Both versions built into one node's store, tagged v1 and v2. */
async function builtVersions(t: TestContext) {
  const dir = await tempDir(t);
  const { a, b } = await makeVersions(dir);
  const node = await openImageStore(join(dir, 'node'));
  t.after(() => node.close());
  const ra = await node.build(a, { tag: 'v1', xattrs: 'skip' });
  const rb = await node.build(b, { tag: 'v2', xattrs: 'skip' });
  return { dir, node, ra, rb };
}

test('dedup: two images sharing most files store the shared chunks once', async (t) => {
  const { dir, node, ra, rb } = await builtVersions(t);
  assert.equal(ra.newChunks, ra.uniqueChunks, 'first image: every chunk is new');
  const changedChunks = rb.manifest.entries.filter((e) => e.type === 'file' && (e.path === 'lib/f3.so' || e.path === 'lib/new.so')).reduce((n, e) => n + (e.type === 'file' ? e.extents.length : 0), 0);
  assert.equal(rb.newChunks, changedChunks, `second image adds only the chunks of the changed and added files (${rb.newChunks})`);
  const stored = (await storedChunkIds(join(dir, 'node/store'))).length;
  assert.equal(stored, ra.uniqueChunks + rb.newChunks, 'store holds each distinct chunk once');
  assert.ok(stored < ra.uniqueChunks + rb.uniqueChunks, `${stored} stored < ${ra.uniqueChunks + rb.uniqueChunks} referenced`);
});

test('dedup: chunks shared by files of one build (stored by two workers at once) are stored and counted once', async (t) => {
  const dir = await tempDir(t);
  const src = join(dir, 'src');
  await mkdir(src);
  const big = prng(5 << 20, 77); // above a job's bytes: each copy is a job of its own, on either worker
  for (let i = 0; i < 4; i++) await writeFile(join(src, `copy${i}.bin`), big);
  for (let i = 0; i < 30; i++) await writeFile(join(src, `small${i}.txt`), prng(70_000, i % 3)); // grouped, 3 distinct
  const node = await openImageStore(join(dir, 'node'));
  t.after(() => node.close());
  const r = await node.build(src, { tag: 'v1', xattrs: 'skip' });
  const files = r.manifest.entries.filter((e) => e.type === 'file');
  assert.equal(files.length, 34);
  const copies = files.filter((e) => e.path.startsWith('copy')).map((e) => JSON.stringify(e.type === 'file' && [e.blake3, e.extents]));
  assert.equal(new Set(copies).size, 1, 'the copies have one fingerprint and one chunk list');
  assert.equal(r.newChunks, r.uniqueChunks, 'each distinct chunk counted new once');
  assert.equal((await storedChunkIds(join(dir, 'node/store'))).length, r.uniqueChunks, 'and stored once');
  assert.ok(r.chunks > 3 * r.uniqueChunks, `${r.chunks} chunk references, ${r.uniqueChunks} distinct`);
  await node.verify('v1');
});

test('dedup: materialized images share one inode per identical file', async (t) => {
  const { dir, node } = await builtVersions(t);
  const ma = await node.materialize('v1');
  const mb = await node.materialize('v2');
  const same = (await stat(join(ma.path, 'lib/f0.so'))).ino === (await stat(join(mb.path, 'lib/f0.so'))).ino;
  assert.ok(same, 'lib/f0.so is one inode in both images');
  assert.notEqual((await stat(join(ma.path, 'lib/f3.so'))).ino, (await stat(join(mb.path, 'lib/f3.so'))).ino);
  assert.equal((await readdir(join(dir, 'node/cache/objects'))).length, 22, '20 shared-or-not files + 1 changed + 1 added = 22 objects');
  // Linking v2 changed the ctime of shared inodes: v1 re-hashes them once, then is quiet again.
  const v1again = await node.materialize('v1');
  assert.ok(v1again.verify.rehashed <= 19);
  assert.equal((await node.materialize('v1')).verify.rehashed, 0);
});

test('gc: removes chunks no tagged manifest references, keeps the rest verifiable', async (t) => {
  const { node, ra, rb } = await builtVersions(t);
  const young = await node.gc();
  assert.equal(young.removedChunks, 0, 'nothing referenced is removed');
  assert.ok(await node.store.deleteTag('v2'));
  const kept = await node.gc();
  assert.equal(kept.removedChunks, 0, 'young unreferenced chunks survive the grace period');
  const r = await node.gc({ graceMs: 0 });
  assert.equal(r.removedChunks, rb.newChunks, 'exactly the chunks only v2 used');
  assert.equal(r.removedManifests, 1);
  assert.equal(r.keptChunks, ra.uniqueChunks);
  assert.equal(r.keptInPacks, 0, "v1's packs hold only v1's chunks");
  await node.verify('v1');
});

test('gc: a pack goes whole: one that holds a live chunk is kept with its dead ones, and counted', async (t) => {
  const { node, ra } = await builtVersions(t);
  assert.ok(await node.store.deleteTag('v1'));
  const f3 = ra.manifest.entries.find((e) => e.path === 'lib/f3.so');
  assert.ok(f3?.type === 'file');
  const r = await node.gc({ graceMs: 0 });
  assert.equal(r.removedManifests, 1);
  assert.equal(r.removedChunks, 0, "v1's packs also hold chunks v2 uses");
  assert.equal(r.keptInPacks, f3.extents.length, 'the old lib/f3.so, kept in its pack');
  await node.verify('v2');
});

test('gc: a pack whose referenced chunks are under half its bytes is rewritten with them; remotes still find them', async (t) => {
  const dir = await tempDir(t);
  const [a, b] = [join(dir, 'a'), join(dir, 'b')];
  await mkdir(a);
  await mkdir(b);
  // One file each, so that each build's chunks are in one pack whichever worker takes it (with
  // several files, how the two workers split them decides which pack holds the kept ones). v2 is
  // the first 40% of v1's file: it shares the chunks cut before its end, under half v1's bytes.
  const whole = prng(1_500_000, 500);
  await writeFile(join(a, 'f'), whole);
  await writeFile(join(b, 'f'), whole.subarray(0, 600_000));
  const node = await openImageStore(join(dir, 'node'));
  t.after(() => node.close());
  const ra = await node.build(a, { tag: 'v1', xattrs: 'skip' });
  const rb = await node.build(b, { tag: 'v2', xattrs: 'skip' });
  const oldPacks = (await readdir(join(dir, 'node/store/packs'))).filter((f) => f.endsWith('.pack'));
  assert.ok(await node.store.deleteTag('v1'));
  const r = await node.gc({ graceMs: 0 });
  assert.equal(r.removedChunks, ra.uniqueChunks - (rb.uniqueChunks - rb.newChunks), "v1's chunks that v2 does not use");
  assert.equal(r.repackedPacks, 1, `v1's pack rewritten (${JSON.stringify(r)})`);
  assert.equal(r.keptInPacks, 0);
  assert.equal(r.keptChunks, rb.uniqueChunks);
  const packs = (await readdir(join(dir, 'node/store/packs'))).filter((f) => f.endsWith('.pack'));
  assert.equal(packs.filter((p) => oldPacks.includes(p)).length, packs.length - r.repackedPacks, "v1's packs are gone, v2's and the rewritten ones stay");
  assert.equal((await storedChunkIds(join(dir, 'node/store'))).length, rb.uniqueChunks, 'each chunk v2 uses, once');
  await node.verify('v2');
  // Served over HTTP, v2's pack list names the rewritten pack.
  const server = await serveStore(join(dir, 'node/store'));
  t.after(() => server.close());
  const other = await openImageStore(join(dir, 'other'));
  t.after(() => other.close());
  assert.equal((await other.pull('v2', server.url)).digest, rb.digest);
  await other.verify('v2');
});
