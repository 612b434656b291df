import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { newClaims } from '../../image/store/claims.ts';
import { work } from '../../image/build-worker.ts';
import { chunkLengths, DEFAULT_CHUNKING } from '../../image/chunker.ts';
import { initChunkCodec, sealChunk } from '../../image/chunk-codec.ts';
import { blake3Hex } from '../../image/hash.ts';
import { prng, storeWithWorker, tempDir } from './fixtures.ts';

async function emptyStore(dir: string): Promise<string> {
  const store = join(dir, 'store');
  for (const sub of ['chunks', 'tmp']) await mkdir(join(store, sub), { recursive: true });
  return store;
}

test('build worker: a file larger than its read block (4 MiB) gets the chunks and fingerprint of the whole file, zero runs as one hole', async (t) => {
  await initChunkCodec();
  const dir = await tempDir(t);
  const store = await emptyStore(dir);
  // Data, 1 MiB of zeros across the first read block's end, data again: two full blocks, so a
  // read into the buffer whose tail the chunk stream holds back would change the chunks.
  const data = Buffer.concat([prng(3_700_000, 1), Buffer.alloc(1 << 20), prng(4_600_000, 2)]);
  await writeFile(join(dir, 'f'), data);
  const claims = newClaims(64, []); // the build's, shared by both runs as by two workers
  const run = async () => (await storeWithWorker(work, [{ path: join(dir, 'f'), size: data.length }], { chunking: DEFAULT_CHUNKING, encrypt: false, store, claims })).stored;
  const [r] = await run();
  assert.equal(r!.size, data.length);
  assert.equal(r!.blake3, blake3Hex(data));
  // What the rule gives over the whole buffer at once: each chunk sealed, all-zero ones as holes.
  const want: Array<{ id: string; size: number } | { hole: number }> = [];
  let at = 0;
  for (const n of chunkLengths(data)) {
    const piece = data.subarray(at, at + n);
    at += n;
    const last = want[want.length - 1];
    if (piece.every((b) => b === 0)) {
      if (last && 'hole' in last) last.hole += n;
      else want.push({ hole: n });
    } else want.push({ id: sealChunk(piece, { encrypt: false }).id, size: n });
  }
  assert.deepEqual(r!.extents, want);
  assert.equal(want.filter((x) => 'hole' in x).length, 1, 'the zeros are one hole');
  const ids = new Set(want.flatMap((x) => ('id' in x ? [x.id] : [])));
  assert.deepEqual(new Set(r!.added.map((a) => a.id)), ids, 'every chunk added to the store');
  // All in the worker's pack in tmp/ (the build's main thread names it), each blob where it says.
  const packs = new Set(r!.added.map((a) => a.pack));
  assert.equal(packs.size, 1, 'one pack per worker and job');
  assert.deepEqual(await readdir(join(store, 'tmp')), [basename([...packs][0]!)], 'no other temp file');
  const pack = await readFile([...packs][0]!);
  for (const a of r!.added) assert.equal(blake3Hex(pack.subarray(a.offset, a.offset + a.bytes)), a.id);
  assert.equal(pack.length, r!.added.reduce((n, a) => n + a.bytes, 0), 'nothing else in it');
  const [again] = await run();
  assert.deepEqual(again!.extents, r!.extents);
  assert.deepEqual(again!.added, [], 'chunks another worker of the build took are not added again');
});

test('build worker: a file that grew or shrank since the scan is reported by its size read, with nothing else, and stops the list', async (t) => {
  const dir = await tempDir(t);
  const store = await emptyStore(dir);
  await writeFile(join(dir, 'a'), prng(100_000, 3));
  await writeFile(join(dir, 'b'), prng(100_000, 4));
  const run = (size: number) => storeWithWorker(work, [{ path: join(dir, 'a'), size }, { path: join(dir, 'b'), size: 100_000 }], { chunking: DEFAULT_CHUNKING, encrypt: false, store });
  const grew = await run(90_000);
  assert.deepEqual(grew.stored, [{ index: 0, size: 90_001, blake3: '', extents: [], added: [] }], 'read stops one byte past the size it was told');
  assert.deepEqual(grew.outcome, { posted: 1 });
  const shrank = await run(150_000);
  assert.deepEqual(shrank.stored, [{ index: 0, size: 100_000, blake3: '', extents: [], added: [] }]);
});

test('build worker: a file it cannot read fails the list at that file: the files before it are posted, none after it is taken', async (t) => {
  const dir = await tempDir(t);
  const store = await emptyStore(dir);
  await writeFile(join(dir, 'a'), prng(50_000, 5));
  await writeFile(join(dir, 'c'), prng(50_000, 6));
  const files = ['a', 'gone', 'c'].map((n) => ({ path: join(dir, n), size: 50_000 }));
  const { stored, outcome } = await storeWithWorker(work, files, { chunking: DEFAULT_CHUNKING, encrypt: false, store });
  assert.deepEqual(stored.map((r) => r.index), [0]);
  assert.equal(outcome.posted, 1);
  assert.equal(outcome.failed?.index, 1);
  assert.match(outcome.failed?.message ?? '', /ENOENT.*gone/);
});
