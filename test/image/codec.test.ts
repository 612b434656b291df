import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { ChunkStream, GEAR, GEAR_SCAN_WASM, chunkLengths, DEFAULT_CHUNKING, scanBuffers } from '../../image/chunker.ts';
import { initChunkCodec, openChunk, sealChunk } from '../../image/chunk-codec.ts';
import { decodeManifest, encodeManifest, manifestDigest, type Manifest } from '../../image/manifest.ts';
import { parseRef, formatRef } from '../../image/ref.ts';
import { canonicalJson } from '../../image/canonical-json.ts';
import { parseGetfattrDump, formatSetfattrDump } from '../../image/xattr.ts';
import { ImageError } from '../../image/errors.ts';
import { blake3Bytes, blake3Hex, newHasher, convergentKeyOf } from '../../image/hash.ts';
import { blake3 } from '@noble/hashes/blake3.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { prng } from './fixtures.ts';

const EMPTY_BLAKE3 = 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262';
const base = (): Manifest => ({
  version: 1,
  chunking: { algo: 'fastcdc-gear32-v1', min: 16384, avg: 65536, max: 262144 },
  encryption: 'none',
  entries: [
    { type: 'dir', path: '.', mode: 0o755, uid: 0, gid: 0, mtime: '1700000000000000000' },
    { type: 'file', path: 'a', mode: 0o644, uid: 0, gid: 0, mtime: '1700000000000000001', size: 0, blake3: EMPTY_BLAKE3, extents: [] },
  ],
});

test('chunker: gear table vector (SPEC.md §2), and the table is the BLAKE3-XOF it is defined as', () => {
  assert.deepEqual([...GEAR.slice(0, 4)].map((x) => (x >>> 0).toString(16)), ['2041f18c', '26489353', '5fccb3de', '560e2bca']);
  const xof = blake3(new TextEncoder().encode('zos-image/gear/v1'), { dkLen: 1024 });
  assert.deepEqual([...GEAR], Array.from({ length: 256 }, (_, i) => Buffer.from(xof).readInt32LE(i * 4)));
});

test('chunker: boundaries of a fixed 1 MiB input (vector)', () => {
  assert.deepEqual(chunkLengths(prng(1 << 20, 99)), [55293, 72004, 69717, 73848, 74523, 73628, 74510, 75981, 75481, 77377, 61362, 84351, 82557, 97944]);
});

test('chunker: the WebAssembly gear scan is image/gear-scan.wat as wabt compiles it', async () => {
  const wabt = await (await import('wabt')).default();
  const path = new URL('../../image/gear-scan.wat', import.meta.url);
  const module = wabt.parseWat(path.pathname, readFileSync(path, 'utf8'));
  try {
    assert.equal(Buffer.from(module.toBinary({}).buffer).toString('base64'), GEAR_SCAN_WASM);
  } finally {
    module.destroy();
  }
});

test('chunker: the WebAssembly scan cuts where the byte-by-byte rule of SPEC.md §2 cuts, across its copy windows', () => {
  // The rule as written: gear hash from min, stricter mask before avg, looser after, max at most.
  const reference = (data: Uint8Array, p: { min: number; avg: number; max: number }): number[] => {
    const out: number[] = [];
    const bits = Math.log2(p.avg);
    const mask = (n: number) => (~0 << (32 - n)) | 0;
    for (let off = 0; off < data.length; ) {
      let n = Math.min(p.max, data.length - off);
      if (n > p.min) {
        let h = 0;
        for (let i = p.min; i < n; i++) {
          h = ((h << 1) + GEAR[data[off + i]!]!) | 0;
          if ((h & mask(i < p.avg ? bits + 2 : bits - 2)) === 0) {
            n = i + 1;
            break;
          }
        }
      }
      out.push(n);
      off += n;
    }
    return out;
  };
  const data = prng(600_000, 11);
  // avg - min below 32 (the looser scan's hash starts at min), above it, and the default.
  for (const p of [{ min: 100, avg: 128, max: 1024 }, { min: 64, avg: 256, max: 700 }, { min: 1000, avg: 4096, max: 9999 }, DEFAULT_CHUNKING]) {
    assert.deepEqual(chunkLengths(data, p), reference(data, p), JSON.stringify(p));
  }
  // Larger than the 4 MiB window the scan copies at a time: cuts near and across its edges.
  const large = prng(9 << 20, 12);
  assert.deepEqual(chunkLengths(large), reference(large, DEFAULT_CHUNKING));
});

test('chunker: data read into scanBuffers (scanned in place, no copy) is cut as the same bytes anywhere else, across pushes; the buffers are made once', () => {
  const data = prng(5_000_000, 13);
  const bufs = scanBuffers(2, 1 << 20);
  assert.equal(scanBuffers(2, 1 << 20), bufs, 'the same buffers again');
  assert.throws(() => scanBuffers(2, 2 << 20), /other sizes/);
  const s = new ChunkStream();
  const lens: number[] = [];
  const bytes: Buffer[] = [];
  const keep = (c: Uint8Array) => {
    lens.push(c.length);
    bytes.push(Buffer.from(c)); // a copy: a chunk is a view only until the push after next
  };
  for (let at = 0, turn = 0; at < data.length; at += 1 << 20, turn ^= 1) {
    const n = data.copy(bufs[turn]!, 0, at, at + (1 << 20));
    for (const c of s.push(bufs[turn]!.subarray(0, n))) keep(c);
    // A scan of other bytes (the copy path) between two pushes does not disturb the next one.
    chunkLengths(prng(300_000, turn));
  }
  for (const c of s.end()) keep(c);
  assert.deepEqual(lens, chunkLengths(data));
  assert.ok(Buffer.concat(bytes).equals(data), 'the chunks hold the bytes pushed, in order (the held-back tail joined to the next block where it lies)');
});

test('chunker: every chunk is within min..max except the last, for any push sizes', () => {
  const data = prng(3 << 20, 5);
  const whole = chunkLengths(data);
  for (const step of [1000, 65536, 262_144, 300_001, 1 << 20]) {
    const s = new ChunkStream();
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < data.length; i += step) chunks.push(...s.push(data.subarray(i, i + step)));
    chunks.push(...s.end());
    assert.deepEqual(
      chunks.map((c) => c.length),
      whole,
      `push size ${step}`,
    );
    assert.ok(Buffer.concat(chunks).equals(data), `push size ${step}: the chunks hold the bytes pushed, in order`);
  }
  whole.slice(0, -1).forEach((n) => assert.ok(n >= DEFAULT_CHUNKING.min && n <= DEFAULT_CHUNKING.max, `chunk of ${n}`));
  assert.equal(whole.reduce((a, b) => a + b, 0), data.length);
  assert.deepEqual(chunkLengths(new Uint8Array(0)), []);
  assert.deepEqual(chunkLengths(new Uint8Array(10)), [10]);
});

test('chunker: an insert in the middle of a large file changes only nearby chunks', async () => {
  await initChunkCodec();
  const a = prng(8 << 20, 11);
  const b = Buffer.concat([a.subarray(0, 4 << 20), Buffer.from('an edit of forty-odd bytes in the middle!!'), a.subarray(4 << 20)]);
  const ids = (buf: Buffer) => {
    const s = new ChunkStream();
    return [...s.push(buf), ...s.end()].map((c) => sealChunk(c, { encrypt: false }).id);
  };
  const ia = ids(a);
  const ib = ids(b);
  const shared = ib.filter((id) => ia.includes(id)).length;
  assert.ok(ia.length > 80, `${ia.length} chunks`);
  assert.ok(ib.length - shared <= 2, `only ${ib.length - shared} of ${ib.length} chunks changed`);
});

test('chunk codec: seal/open round trip, plain and encrypted, compressible and not', async () => {
  await initChunkCodec();
  for (const data of [prng(70_000, 1), Buffer.alloc(50_000, 'a'), Buffer.from('x')]) {
    for (const encrypt of [false, true]) {
      const s = sealChunk(data, { encrypt });
      assert.equal(s.key !== undefined, encrypt);
      assert.deepEqual(Buffer.from(openChunk(s.blob, { id: s.id, size: data.length, key: s.key })), data);
    }
  }
});

const codecRejects: Array<{ name: string; mutate: (s: { id: string; blob: Uint8Array; key?: string }, size: number) => [Uint8Array, { id: string; size: number; key?: string }] }> = [
  { name: 'a flipped byte', mutate: (s, size) => [Uint8Array.from(s.blob, (b, i) => (i === 10 ? b ^ 1 : b)), { id: s.id, size, key: s.key }] },
  { name: 'a wrong size', mutate: (s, size) => [s.blob, { id: s.id, size: size + 1, key: s.key }] },
  { name: 'a wrong key', mutate: (s, size) => [s.blob, { id: s.id, size, key: 'ab'.repeat(32) }] },
  { name: 'a missing key', mutate: (s, size) => [s.blob, { id: s.id, size }] },
];
for (const tc of codecRejects) {
  test(`chunk codec: rejects ${tc.name}`, async () => {
    await initChunkCodec();
    const data = prng(40_000, 3);
    const [blob, ref] = tc.mutate(sealChunk(data, { encrypt: true }), data.length);
    assert.throws(() => openChunk(blob, ref), (e: unknown) => e instanceof ImageError && e.code === 'CHUNK_CORRUPT' && e.message.includes(ref.id));
  });
}

test('manifest: canonical encoding and digest (vector)', async () => {
  await initChunkCodec();
  const bytes = encodeManifest(base());
  assert.equal(
    Buffer.from(bytes).toString(),
    '{"chunking":{"algo":"fastcdc-gear32-v1","avg":65536,"max":262144,"min":16384},"encryption":"none","entries":[{"gid":0,"mode":493,"mtime":"1700000000000000000","path":".","type":"dir","uid":0},{"blake3":"af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262","extents":[],"gid":0,"mode":420,"mtime":"1700000000000000001","path":"a","size":0,"type":"file","uid":0}],"version":1}',
  );
  assert.equal(manifestDigest(bytes), '16b7d5fa76082df552e0d805dc6948deaaa588f45bf1edf57271314e25352937');
  assert.deepEqual(decodeManifest(bytes), base());
});

const badManifests: Array<{ name: string; edit: (m: Manifest) => void; want: RegExp }> = [
  { name: 'a path under a symlink', edit: (m) => m.entries.splice(1, 1, { type: 'symlink', path: 'a', target: '/etc', uid: 0, gid: 0, mtime: '0' }, { type: 'file', path: 'a/passwd', mode: 0o644, uid: 0, gid: 0, mtime: '0', size: 0, blake3: EMPTY_BLAKE3, extents: [] }), want: /no parent directory/ },
  { name: 'a ".." component', edit: (m) => m.entries.push({ type: 'dir', path: 'b/../..', mode: 0o755, uid: 0, gid: 0, mtime: '0' }), want: /bad component|no parent/ },
  { name: 'unsorted entries', edit: (m) => m.entries.push({ type: 'dir', path: 'A', mode: 0o755, uid: 0, gid: 0, mtime: '0' }), want: /not sorted/ },
  { name: 'an absolute path', edit: (m) => m.entries.push({ type: 'dir', path: '/x', mode: 0o755, uid: 0, gid: 0, mtime: '0' }), want: /not sorted|relative/ },
  { name: 'extents that do not add up', edit: (m) => ((m.entries[1] as { size: number }).size = 5), want: /add up/ },
  { name: 'a hard link to a directory', edit: (m) => m.entries.push({ type: 'hardlink', path: 'b', target: '.' }), want: /hard link/ },
  { name: 'an unknown field', edit: (m) => ((m.entries[0] as unknown as Record<string, number>).extra = 1), want: /manifest/ },
];
for (const tc of badManifests) {
  test(`manifest: rejects ${tc.name}`, () => {
    const m = base();
    tc.edit(m);
    assert.throws(() => decodeManifest(Buffer.from(canonicalJson(m))), (e: unknown) => e instanceof ImageError && e.code === 'BAD_MANIFEST' && tc.want.test(e.message));
  });
}

test('manifest: rejects a non-canonical encoding of a valid manifest', () => {
  assert.throws(() => decodeManifest(Buffer.from(JSON.stringify(base(), null, 1))), /canonical/);
});

const refs: Array<{ in: string; name?: string; digest?: string; err?: RegExp }> = [
  { in: `ubuntu:22.04@blake3:${'a'.repeat(64)}`, name: 'ubuntu:22.04', digest: 'a'.repeat(64) },
  { in: `blake3:${'b'.repeat(64)}`, digest: 'b'.repeat(64) },
  { in: 'tf/base', name: 'tf/base' },
  { in: `x@blake3:${'A'.repeat(64)}`, err: /bad digest/ },
  { in: 'x@sha256:00', err: /bad digest/ },
  { in: '../etc', err: /bad image name/ },
  { in: '', err: /bad image name|empty/ },
];
for (const tc of refs) {
  test(`ref: parses "${tc.in}"`, () => {
    if (tc.err) return assert.throws(() => parseRef(tc.in), tc.err);
    const r = parseRef(tc.in);
    assert.equal(r.name, tc.name);
    assert.equal(r.digest, tc.digest);
    if (r.digest) assert.equal(formatRef(r.name, r.digest), tc.in);
  });
}

test('xattr dump: parses getfattr output with escaped names and formats it back', () => {
  const dump = '# file: .\nuser.x=0sMQ==\n\n# file: new\\012line\nuser.bin=0sAP8=\nuser.empty=0s\n\n# file: d/ünï code\nuser.foo=0sYmFy\n\n';
  const parsed = parseGetfattrDump(dump);
  assert.deepEqual([...parsed.keys()], ['.', 'new\nline', 'd/ünï code']);
  assert.deepEqual(parsed.get('new\nline'), { 'user.bin': 'AP8=', 'user.empty': '' });
  assert.deepEqual(parseGetfattrDump(formatSetfattrDump(parsed)), parsed);
});

test('hash: the native BLAKE3 matches @noble/hashes (plain, streaming with interleaving, keyed, derive-key)', async () => {
  await initChunkCodec();
  for (const n of [0, 1, 1023, 1024, 1025, 300_000]) {
    const data = prng(n + 4, n + 1).subarray(0, n);
    assert.equal(blake3Hex(data), bytesToHex(blake3(data)), `${n} bytes`);
  }
  assert.equal(blake3Hex(new Uint8Array(0)), EMPTY_BLAKE3);
  const a = prng(500_000, 1);
  const b = prng(700_000, 2);
  const ha = newHasher();
  const hb = newHasher();
  for (let i = 0; i < 700_000; i += 100_000) {
    if (i < a.length) ha.update(a.subarray(i, i + 100_000));
    hb.update(b.subarray(i, i + 100_000));
  }
  assert.equal(ha.digestHex(), bytesToHex(blake3(a)));
  assert.equal(hb.digestHex(), bytesToHex(blake3(b)));
  const seedKey = blake3(new TextEncoder().encode('zos-image 2025-01 convergent chunk key v1'));
  assert.equal(bytesToHex(convergentKeyOf(a)), bytesToHex(blake3(a, { key: seedKey })));
  const context = 'zos-image 2025-01 convergent chunk nonce v1';
  assert.equal(bytesToHex(blake3Bytes(a.subarray(0, 32), context)), bytesToHex(blake3(a.subarray(0, 32), { context: new TextEncoder().encode(context) })));
  assert.equal(bytesToHex(blake3Bytes(b)), bytesToHex(blake3(b)));
});
