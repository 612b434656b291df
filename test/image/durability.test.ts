import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildImage } from '../../image/build.ts';
import { DirStore } from '../../image/store/dir-store.ts';
import { syncFileSystem } from '../../lib/durable.ts';
import { prng, storedChunkIds, tempDir } from './fixtures.ts';

/** Every chunk (a file of its own or in a named pack) or manifest under a store. */
async function storedFiles(store: string, kind: 'chunks' | 'manifests'): Promise<string[]> {
  if (kind === 'chunks') return storedChunkIds(store);
  const out: string[] = [];
  for (const sub of await readdir(join(store, kind))) out.push(...(await readdir(join(store, kind, sub))).filter((f) => !f.endsWith('.packs')));
  return out;
}

async function smallTree(dir: string): Promise<string> {
  const src = join(dir, 'src');
  await mkdir(join(src, 'lib'), { recursive: true });
  for (let i = 0; i < 5; i++) await writeFile(join(src, 'lib', `f${i}.so`), prng(150_000 + i, 7 + i));
  return src;
}

test('durability: a build syncs the store once, after its chunks and manifest are written and before its tag', async (t) => {
  const dir = await tempDir(t);
  const src = await smallTree(dir);
  const location = join(dir, 'store');
  const seen: Array<{ path: string; tag: boolean; chunks: number; manifests: number }> = [];
  const store = await DirStore.open(location, {
    syncFs: async (path) => {
      seen.push({ path, tag: existsSync(join(location, 'tags', 'v1')), chunks: (await storedFiles(location, 'chunks')).length, manifests: (await storedFiles(location, 'manifests')).length });
    },
  });
  const built = await buildImage(src, { store, tag: 'v1', xattrs: 'skip' });
  assert.deepEqual(seen, [{ path: location, tag: false, chunks: built.uniqueChunks, manifests: 1 }]);
  assert.equal(await store.getTag('v1'), built.digest);
});

test('durability: a large build starts writeback while it writes chunks; the tag still waits for the last sync, which sees every chunk', async (t) => {
  const dir = await tempDir(t);
  const src = join(dir, 'src');
  await mkdir(src);
  // 40 MiB that zstd cannot shrink: more than two writeback intervals (16 MiB of new chunk bytes).
  for (let i = 0; i < 10; i++) await writeFile(join(src, `f${i}.bin`), prng(4 << 20, 100 + i));
  const location = join(dir, 'store');
  const seen: Array<{ tag: boolean; chunks: number; manifests: number }> = [];
  const store = await DirStore.open(location, {
    syncFs: async () => {
      seen.push({ tag: existsSync(join(location, 'tags', 'v1')), chunks: (await storedFiles(location, 'chunks')).length, manifests: (await storedFiles(location, 'manifests')).length });
    },
  });
  const built = await buildImage(src, { store, tag: 'v1', xattrs: 'skip' });
  assert.ok(seen.length >= 2, `writeback started during the build (${seen.length} syncs)`);
  const last = seen.pop()!;
  assert.deepEqual(last, { tag: false, chunks: built.uniqueChunks, manifests: 1 }, 'the final sync: every chunk and the manifest, before the tag');
  // The manifest is written while the last early kick may still run (it can see it or not), and
  // a late kick that runs slowly (a loaded machine) may count every chunk: only the first, at
  // 16 MiB of 40, must come before the last chunks.
  for (const s of seen) assert.ok(!s.tag && s.manifests <= 1, `an early writeback, before the tag: ${JSON.stringify(s)}`);
  assert.ok(seen[0]!.chunks < built.uniqueChunks, `the first writeback while chunks were still being written: ${JSON.stringify(seen[0])}`);
  assert.equal(await store.getTag('v1'), built.digest);
});

test('durability: a failed sync leaves no tag (the old one stays), so no tag names unsynced files', async (t) => {
  const dir = await tempDir(t);
  const src = await smallTree(dir);
  let fail = false;
  const store = await DirStore.open(join(dir, 'store'), {
    syncFs: async () => {
      if (fail) throw new Error('EIO: disk gone');
    },
  });
  const first = await buildImage(src, { store, tag: 'v1', xattrs: 'skip' });
  await writeFile(join(src, 'lib', 'f0.so'), prng(99_000, 1234));
  fail = true;
  await assert.rejects(buildImage(src, { store, tag: 'v1', xattrs: 'skip' }), /EIO: disk gone/);
  assert.equal(await store.getTag('v1'), first.digest, 'the tag still names the first, synced build');
  assert.deepEqual(await readdir(join(dir, 'store', 'tmp')), [], 'no temp file left behind');
});

test('durability: syncFileSystem flushes the filesystem of an existing path and fails on a missing one', async (t) => {
  const dir = await tempDir(t);
  await syncFileSystem(dir);
  await assert.rejects(syncFileSystem(join(dir, 'missing')), /sync/);
});
