import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initChunkCodec, openChunk, openChunkAsync, sealChunkAsync } from '../../image/chunk-codec.ts';
import { ImageError } from '../../image/errors.ts';
import { blake3Hex } from '../../image/hash.ts';
import { zstdFrameBound } from '../../image/zstd-frame.ts';
import { prng } from './fixtures.ts';
import { WASM_ERA_CHUNK, wasmEraPlain } from './vectors.ts';

/** zstd in chunk blobs (SPEC.md §4): native encoder and decoder, blobs of the earlier encoder, and frames refused before decoding. */

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

test('zstd: a blob the zstd-wasm encoder wrote (stores from before native zstd) opens, sync and async', async () => {
  await initChunkCodec();
  const { blob, id, size } = WASM_ERA_CHUNK;
  assert.equal(blake3Hex(blob), id);
  const f = zstdFrameBound(blob.subarray(3));
  assert.ok(typeof f === 'object' && f.contentSize === size && f.bound >= size, JSON.stringify(f));
  const want = wasmEraPlain();
  assert.equal(blake3Hex(want), WASM_ERA_CHUNK.plainBlake3);
  assert.deepEqual(Buffer.from(openChunk(blob, { id, size })), Buffer.from(want));
  assert.deepEqual(Buffer.from(await openChunkAsync(blob, { id, size })), Buffer.from(want));
  assert.throws(() => openChunk(blob, { id, size: size - 1 }), isCorrupt(`decoded ${size} bytes, manifest says ${size - 1}`));
});

test('zstd: a sealed blob opens the same on this thread and on the thread pool', async () => {
  await initChunkCodec();
  for (const data of [prng(300_000, 7), Buffer.alloc(200_000, 'z')]) {
    for (const encrypt of [false, true]) {
      const a = await sealChunkAsync(data, { encrypt });
      const ref = { id: a.id, size: data.length, key: a.key };
      assert.deepEqual(Buffer.from(await openChunkAsync(a.blob, ref)), Buffer.from(data));
      assert.deepEqual(Buffer.from(openChunk(a.blob, ref)), Buffer.from(data));
    }
  }
});

test('zstd: a frame that could decode past its extent (a decompression bomb) is refused before the decoder runs', async () => {
  await initChunkCodec();
  // what a hand-made frame says it holds is what the decoder gives: two RLE blocks of 128 KiB
  const honest = zstdBlob(frame([[RLE, 131072, [7]], [RLE, 131072, [7]]]));
  assert.deepEqual(Buffer.from(await openChunkAsync(honest, { id: blake3Hex(honest), size: 262144 })), Buffer.alloc(262144, 7));
  // 400 bytes that would decode to 12.5 MiB, named by a 64 KiB extent
  const bomb = zstdBlob(frame(Array.from({ length: 100 }, () => [RLE, 131072, [0]] as [number, number, number[]])));
  const ref = { id: blake3Hex(bomb), size: 65536 };
  assert.throws(() => openChunk(bomb, ref), isCorrupt('zstd frame decodes to at most 13107200 bytes, manifest says 65536'));
  await assert.rejects(openChunkAsync(bomb, ref), isCorrupt('at most 13107200 bytes'));
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

test('zstd: bulk decoding keeps no output behind (openChunkAsync, what verify and materialize use; the sync decoder of @toondepauw/node-zstd 2.0.0 leaks each output)', async () => {
  await initChunkCodec();
  const plain = prng(65536, 9).subarray(0, 32768);
  const data = Buffer.concat([plain, plain]); // compressible: the blob holds a zstd frame
  const s = await sealChunkAsync(data, { encrypt: false });
  const ref = { id: s.id, size: data.length };
  const rss = () => process.memoryUsage().rss;
  const decodes = 4000; // 256 MiB decoded; a leak of each output would add ~500 MiB
  for (let i = 0; i < 200; i++) await openChunkAsync(s.blob, ref); // warm up the allocator
  const before = rss();
  for (let i = 0; i < decodes; i++) await openChunkAsync(s.blob, ref);
  const grown = (rss() - before) / 1048576;
  assert.ok(grown < 128, `RSS grew ${grown.toFixed(0)} MiB over ${decodes} decodes of 64 KiB`);
});
