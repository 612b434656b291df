import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initChunkCodec, openChunk, sealChunk } from '../../image/chunk-codec.ts';
import { ImageError } from '../../image/errors.ts';
import { blake3Hex } from '../../image/hash.ts';
import { zstdFrameBound } from '../../image/zstd-frame.ts';
import { prng } from './fixtures.ts';
import { LEVEL2_CHUNK, NODE_ZSTD_ERA_CHUNK, WASM_ERA_CHUNK, wasmEraPlain } from './vectors.ts';

/** zstd in chunk blobs (SPEC.md §4): libzstd through zstd-napi, blobs of the earlier encoders, and frames refused before decoding. */

const isCorrupt = (text: string) => (e: unknown) => e instanceof ImageError && e.code === 'CHUNK_CORRUPT' && e.message.includes(text);

/** A hand-made frame: no content size, 2 MiB window, the given blocks ([type, size, bytes]). */
function frame(blocks: Array<[type: number, size: number, body: number[]]>, extra: number[] = []): Uint8Array {
  const out = [0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58];
  blocks.forEach(([type, size, body], i) => {
    const h = (i === blocks.length - 1 ? 1 : 0) | (type << 1) | (size << 3);
    out.push(h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff, ...body);
  });
  return Uint8Array.from([...out, ...extra]);
}
const zstdBlob = (f: Uint8Array) => Uint8Array.from([0x5a, 1, 1, ...f]);
const RLE = 1;
const RAW = 0;

test('zstd: a blob the zstd-wasm encoder wrote (level 3) opens; sealing its plaintext today gives a level-2 frame with the pinned id, which opens too', async () => {
  await initChunkCodec();
  const { blob, id, size } = WASM_ERA_CHUNK;
  assert.equal(blake3Hex(blob), id);
  const f = zstdFrameBound(blob.subarray(3));
  assert.ok(typeof f === 'object' && f.contentSize === size && f.bound >= size, JSON.stringify(f));
  const want = wasmEraPlain();
  assert.equal(blake3Hex(want), WASM_ERA_CHUNK.plainBlake3);
  assert.deepEqual(Buffer.from(openChunk(blob, { id, size })), Buffer.from(want));
  assert.throws(() => openChunk(blob, { id, size: size - 1 }), isCorrupt(`decoded ${size} bytes, manifest says ${size - 1}`));
  const sealed = sealChunk(want, { encrypt: false });
  assert.equal(sealed.id, LEVEL2_CHUNK.id);
  assert.equal(sealed.blob.length, LEVEL2_CHUNK.blobBytes);
  assert.notEqual(sealed.id, id);
  assert.deepEqual(Buffer.from(openChunk(sealed.blob, { id: sealed.id, size })), Buffer.from(want));
});

test('zstd: a blob of the node-zstd era (a streaming frame that declares no content size) opens', async () => {
  await initChunkCodec();
  const { blob, id, size } = NODE_ZSTD_ERA_CHUNK;
  assert.equal(blake3Hex(blob), id);
  const f = zstdFrameBound(blob.subarray(3));
  assert.ok(typeof f === 'object' && f.contentSize === undefined && f.bound >= size, JSON.stringify(f));
  assert.deepEqual(Buffer.from(openChunk(blob, { id, size })), Buffer.from(wasmEraPlain()));
  // without a declared size, the decoder itself must stop at the extent's size
  assert.throws(() => openChunk(blob, { id, size: size - 1 }), isCorrupt('zstd decompression failed'));
  assert.throws(() => openChunk(blob, { id, size: size + 1 }), isCorrupt(`decoded ${size} bytes, manifest says ${size + 1}`));
});

test('zstd: a sealed blob opens into a new buffer or into the caller\'s, encrypted or not', async () => {
  await initChunkCodec();
  for (const data of [prng(300_000, 7), Buffer.alloc(200_000, 'z'), Buffer.concat([prng(40_000, 3), prng(40_000, 3)])]) {
    for (const encrypt of [false, true]) {
      const a = sealChunk(data, { encrypt });
      const ref = { id: a.id, size: data.length, key: a.key };
      assert.deepEqual(Buffer.from(openChunk(a.blob, ref)), Buffer.from(data));
      if (a.blob[2]! & 1) {
        const into = Buffer.alloc(data.length);
        const out = openChunk(a.blob, ref, { into });
        assert.equal(out.buffer, into.buffer, 'decoded in place');
        assert.deepEqual(into, data);
        assert.throws(() => openChunk(a.blob, ref, { into: Buffer.alloc(data.length + 1) }), /decode buffer of/);
      }
    }
  }
  // one context per thread, reused: a chunk seals the same after others of other sizes
  const x = prng(70_000, 1);
  assert.equal(sealChunk(x, { encrypt: false }).id, (sealChunk(prng(250_000, 2), { encrypt: false }), sealChunk(x, { encrypt: false })).id);
});

test('zstd: a transient seal gives the same blob and id as a kept one, as a view that the next seal reuses', async () => {
  await initChunkCodec();
  const compressible = Buffer.concat([prng(30_000, 5), prng(30_000, 5)]);
  const random = prng(50_000, 6);
  for (const data of [compressible, random]) {
    const kept = sealChunk(data, { encrypt: false });
    const t = sealChunk(data, { encrypt: false, transient: true });
    assert.equal(t.id, kept.id);
    assert.deepEqual(Buffer.from(t.blob), Buffer.from(kept.blob));
    assert.deepEqual(Buffer.from(openChunk(t.blob, { id: t.id, size: data.length })), data);
  }
  const first = sealChunk(compressible, { encrypt: false, transient: true });
  const firstBytes = Buffer.from(first.blob);
  const second = sealChunk(random, { encrypt: false, transient: true });
  assert.equal(first.blob.buffer, second.blob.buffer, 'one buffer per thread');
  assert.notDeepEqual(Buffer.from(first.blob), firstBytes, 'overwritten by the next seal');
  // encrypted blobs are never transient
  const enc = sealChunk(random, { encrypt: true, transient: true });
  sealChunk(compressible, { encrypt: false, transient: true });
  assert.deepEqual(Buffer.from(openChunk(enc.blob, { id: enc.id, size: random.length, key: enc.key })), random);
});

test('zstd: a frame that could decode past its extent (a decompression bomb) is refused before the decoder runs', async () => {
  await initChunkCodec();
  // what a hand-made frame says it holds is what the decoder gives: two RLE blocks of 128 KiB
  const honest = zstdBlob(frame([[RLE, 131072, [7]], [RLE, 131072, [7]]]));
  assert.deepEqual(Buffer.from(openChunk(honest, { id: blake3Hex(honest), size: 262144 })), Buffer.alloc(262144, 7));
  // 400 bytes that would decode to 12.5 MiB, named by a 64 KiB extent
  const bomb = zstdBlob(frame(Array.from({ length: 100 }, () => [RLE, 131072, [0]] as [number, number, number[]])));
  const ref = { id: blake3Hex(bomb), size: 65536 };
  assert.throws(() => openChunk(bomb, ref), isCorrupt('zstd frame decodes to at most 13107200 bytes, manifest says 65536'));
  // and a frame that cannot reach its extent's size
  assert.throws(() => openChunk(honest, { id: blake3Hex(honest), size: 262145 }), isCorrupt('at most 262144 bytes, manifest says 262145'));
});

test('zstd: frame headers: one whole frame, blocks within the window, nothing after it', () => {
  assert.deepEqual(zstdFrameBound(frame([[RAW, 3, [1, 2, 3]], [RLE, 5, [9]]])), { bound: 8 });
  assert.equal(zstdFrameBound(frame([[RAW, 3, [1, 2, 3]]], [0])), 'data after the frame');
  assert.equal(zstdFrameBound(frame([[RAW, 3, [1, 2]]])), 'truncated block');
  assert.equal(zstdFrameBound(frame([[3, 1, [0]]])), 'reserved block type');
  assert.equal(zstdFrameBound(frame([[RLE, 131073, [0]]])), 'block larger than the frame allows');
  assert.equal(zstdFrameBound(Uint8Array.from([1, 2, 3, 4, 5, 6, 7])), 'not a zstd frame');
  // a single-segment frame's window is its content size: a block may not exceed it
  const single = Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0x20, 4, ...[(1 | (RLE << 1) | (5 << 3)) & 0xff, 0, 0], 1]);
  assert.equal(zstdFrameBound(single), 'block larger than the frame allows');
});

/**
 * RSS growth (MiB) over `n` calls of `f`, after `n` calls that bring the allocator and the garbage
 * awaiting collection to their steady state: a leak keeps growing, garbage does not.
 */
function rssGrowth(n: number, f: () => void): number {
  for (let i = 0; i < n; i++) f();
  const before = process.memoryUsage().rss;
  for (let i = 0; i < n; i++) f();
  return (process.memoryUsage().rss - before) / 1048576;
}

test('zstd: thousands of synchronous seals and opens keep RSS bounded (the sync calls of @toondepauw/node-zstd 2.0.0 kept every output)', async () => {
  await initChunkCodec();
  const half = prng(32768, 9);
  const data = Buffer.concat([half, half]); // compressible: each blob holds a zstd frame
  const s = sealChunk(data, { encrypt: false });
  assert.equal(s.blob[2], 1, 'zstd frame');
  const ref = { id: s.id, size: data.length };
  const calls = 3000; // 187 MiB through each; keeping each 64 KiB output would add about that much
  const limit = 48;
  const sealing = rssGrowth(calls, () => void sealChunk(data, { encrypt: false }));
  assert.ok(sealing < limit, `RSS grew ${sealing.toFixed(0)} MiB over ${calls} seals of 64 KiB`);
  const opening = rssGrowth(calls, () => void openChunk(s.blob, ref));
  assert.ok(opening < limit, `RSS grew ${opening.toFixed(0)} MiB over ${calls} opens of 64 KiB`);
  // The measurement sees a leak of that size (last: freed memory would hide growth after it): a
  // stand-in that keeps a copy of each output, as the old binding's sync calls did natively.
  const kept: Buffer[] = [];
  const leaky = rssGrowth(calls, () => void kept.push(Buffer.from(openChunk(s.blob, ref))));
  assert.ok(leaky > limit, `the stand-in that keeps its outputs grew only ${leaky.toFixed(0)} MiB`);
});
