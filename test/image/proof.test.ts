import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { ImageError } from '../../image/errors.ts';
import { decodeManifest, encodeManifest, type FileEntry } from '../../image/manifest.ts';
import { chunkAt, flipByte, repackChunk, richImage as setup } from './fixtures.ts';

/**
 * One integrity proof per byte (image/file-worker.ts): materialize proves each file it writes by
 * the file's BLAKE3 and decodes its chunks without hashing each blob against its id; a file that
 * fails is written again with the id checks, so a bad chunk is still named as before.
 */

const TEXT = 'data/ünïcødé 目录/файл.txt'; // compressible: one zstd chunk
const TOOL = 'bin/tool'; // random bytes: one chunk stored as is

async function fixture(t: Parameters<typeof setup>[0]) {
  const s = await setup(t);
  const m = decodeManifest(await s.node.store.getManifest(s.digest));
  const file = (path: string) => m.entries.find((e): e is FileEntry => e.type === 'file' && e.path === path)!;
  const chunkOf = (path: string) => {
    const x = file(path).extents[0]!;
    assert.ok('id' in x);
    return { id: x.id, ...chunkAt(s.node.store, x.id) };
  };
  const leftovers = async () => ({
    tmp: await readdir(join(s.dir, 'node/cache/tmp')).catch(() => []),
    images: await readdir(join(s.dir, 'node/cache/images')).catch(() => []),
  });
  return { ...s, m, file, chunkOf, leftovers };
}

const chunkCorrupt = (id: string, path: string) => (e: unknown) => {
  assert.ok(e instanceof ImageError, String(e));
  assert.equal(e.code, 'CHUNK_CORRUPT', e.message);
  assert.ok(e.message.includes(`file "${path}": chunk ${id} in store `) && e.message.endsWith('content does not match its digest'), e.message);
  return true;
};

test('proof: a damaged zstd chunk and a damaged stored chunk are each named by their digest error, nothing half-made', async (t) => {
  const f = await fixture(t);
  const text = f.chunkOf(TEXT);
  await flipByte(text.path, text.offset + 12); // inside the zstd frame: a decode error or wrong bytes
  await assert.rejects(f.node.materialize('app'), chunkCorrupt(text.id, TEXT));
  assert.deepEqual(await f.leftovers(), { tmp: [], images: [] });
  await flipByte(text.path, text.offset + 12);
  const tool = f.chunkOf(TOOL);
  await flipByte(tool.path, tool.offset + 1000); // decodes (stored as is) to the right length, wrong bytes
  await assert.rejects(f.node.materialize('app'), chunkCorrupt(tool.id, TOOL));
  assert.deepEqual(await f.leftovers(), { tmp: [], images: [] });
  await flipByte(tool.path, tool.offset + 1000);
  assert.equal((await f.node.materialize('app')).created, true);
});

test('proof: a chunk that is not what its id says but decodes to the file is proven by the file BLAKE3; the store verify still refuses it', async (t) => {
  const f = await fixture(t);
  const text = f.chunkOf(TEXT);
  // The same plaintext compressed at another level: another blob, so another id than the file names.
  const require = createRequire(import.meta.url);
  const z = require('zstd-napi/binding.js') as typeof import('zstd-napi/binding.js');
  const cctx = new z.CCtx();
  cctx.setParameter(z.CParameter.compressionLevel, 19);
  cctx.setParameter(z.CParameter.checksumFlag, 1);
  const plain = Buffer.from('привет\n'.repeat(1000));
  const frame = Buffer.alloc(z.compressBound(plain.length));
  const blob = Buffer.concat([Buffer.from([0x5a, 1, 1]), frame.subarray(0, cctx.compress2(frame, plain))]);
  await repackChunk(f.node.store.location, text.id, blob);
  const r = await f.node.materialize('app');
  assert.equal(r.created, true, 'every byte written is proven by its file BLAKE3');
  await assert.rejects(f.node.verify('app'), (e: unknown) => e instanceof ImageError && e.code === 'CHUNK_CORRUPT' && e.message.includes(text.id));
});

test('proof: intact chunks that do not add up to the file BLAKE3 the manifest names are FILE_TAMPERED with both digests', async (t) => {
  const f = await fixture(t);
  const wrong = '0'.repeat(64);
  const real = f.file(TOOL).blake3;
  const m = { ...f.m, entries: f.m.entries.map((e) => (e.type === 'file' && e.path === TOOL ? { ...e, blake3: wrong } : e)) };
  const digest = await f.node.store.putManifest(encodeManifest(m));
  await assert.rejects(f.node.materialize(`blake3:${digest}`), (e: unknown) => {
    assert.ok(e instanceof ImageError && e.code === 'FILE_TAMPERED', String(e));
    assert.equal(e.message, `file "${TOOL}": content assembled from chunks has BLAKE3 ${real}, manifest says ${wrong}`);
    return true;
  });
  assert.deepEqual((await f.leftovers()).tmp, []);
});
