import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkerPool } from '../../lib/workers.ts';
import { ImageError } from '../../image/errors.ts';
import { blake3Hex, initHash } from '../../image/hash.ts';
import { openImageStore } from '../../image/index.ts';
import { claim, newClaims } from '../../image/store/claims.ts';
import { decodePackIndex, encodePackIndex, INDEX_MAGIC } from '../../image/store/packs.ts';
import { prng, tempDir } from './fixtures.ts';

const id = (n: number) => blake3Hex(Buffer.from(`chunk ${n}`));

test('pack index: entries sorted by id whatever their order, 44 bytes each after the magic line; anything else is STORE_IO', async () => {
  await initHash();
  const entries = [3, 1, 2].map((n) => ({ id: id(n), offset: n * 2 ** 33, length: 1000 + n }));
  const bytes = encodePackIndex(entries);
  assert.equal(bytes.length, INDEX_MAGIC.length + 3 * 44);
  assert.equal(bytes.subarray(0, INDEX_MAGIC.length).toString(), 'zos-pack v1\n');
  assert.deepEqual(decodePackIndex(bytes, 'x'), [...entries].sort((a, b) => (a.id < b.id ? -1 : 1)), 'offsets past 4 GiB survive');
  assert.deepEqual(encodePackIndex([...entries].reverse()), bytes, 'one index per set of entries');
  for (const bad of [bytes.subarray(0, bytes.length - 1), Buffer.from('zos-pack v2\n'), Buffer.alloc(0)]) {
    assert.throws(() => decodePackIndex(bad, 'pack index p'), (e: unknown) => e instanceof ImageError && e.code === 'STORE_IO' && e.message === 'pack index p is not a pack index');
  }
});

test('claims: each id is granted once among threads racing for it, and never for an id the table was made with', async (t) => {
  await initHash();
  const ids = Array.from({ length: 2000 }, (_, n) => id(n));
  const table = newClaims(ids.length, ids.slice(0, 100));
  const pool = new WorkerPool<{ ids: string[]; table: SharedArrayBuffer }, string[]>(new URL('./fixtures/claim-racer.ts', import.meta.url), { batch: 1, size: 3 });
  t.after(() => pool.close());
  const won = (await Promise.all([0, 1, 2].map(() => pool.run({ ids, table })))).flat();
  assert.equal(won.length, 1900, 'every id not known at the start granted exactly once');
  assert.equal(new Set(won).size, 1900);
  assert.ok(!won.some((x) => ids.slice(0, 100).includes(x)));
  assert.equal(claim(table, ids[5]!), false);
});

test("packs: a store made before packs (no packs/) builds into one; a pack index that does not match its name is not read, and NOT_FOUND says so", async (t) => {
  const dir = await tempDir(t);
  const src = join(dir, 'src');
  await mkdir(src);
  for (let i = 0; i < 4; i++) await writeFile(join(src, `f${i}`), prng(100_000, 30 + i));
  const node = await openImageStore(join(dir, 'node'));
  t.after(() => node.close());
  await rm(join(dir, 'node/store/packs'), { recursive: true });
  const built = await node.build(src, { tag: 'v1', xattrs: 'skip' });
  await node.verify('v1');
  const [index] = (await readdir(join(dir, 'node/store/packs'))).filter((f) => f.endsWith('.idx'));
  assert.ok(index, 'the build made packs/ and a pack in it');

  // The index changed on disk: a fresh reader (another store object, as another process) does not trust it.
  await writeFile(join(dir, 'node/store/packs', index), encodePackIndex([]));
  const fresh = await openImageStore(join(dir, 'node'));
  t.after(() => fresh.close());
  const someChunk = [...new Set(built.manifest.entries.flatMap((e) => (e.type === 'file' ? e.extents.flatMap((x) => ('id' in x ? [x.id] : [])) : [])))][0]!;
  await assert.rejects(fresh.store.getChunk(someChunk), (e: unknown) => e instanceof ImageError && e.code === 'NOT_FOUND' && e.message.includes(`unreadable pack indexes: pack index ${index.slice(0, -4)}`) && e.message.includes('does not match its name'));
  assert.equal(await fresh.store.hasChunk(someChunk), false);
});

test('packs: gc sweeps a pack a writer named but died before its index, once older than the grace', async (t) => {
  const dir = await tempDir(t);
  const node = await openImageStore(join(dir, 'node'));
  t.after(() => node.close());
  const orphan = join(dir, 'node/store/packs', `${'ab'.repeat(32)}.pack`);
  await writeFile(orphan, prng(1000, 1));
  await node.gc();
  assert.deepEqual(await readdir(join(dir, 'node/store/packs')), [`${'ab'.repeat(32)}.pack`], 'young: it may be a pack whose index is being written');
  await node.gc({ graceMs: 0 });
  assert.deepEqual(await readdir(join(dir, 'node/store/packs')), []);
});
