import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalJson, isCanonicalJson } from '../../image/canonical-json.ts';
import { decodeManifest, encodeManifest, encodeManifestFrom, type Manifest } from '../../image/manifest.ts';
import { initHash } from '../../image/hash.ts';

/** The canonical-encoding check of manifests (SPEC.md §3): native JSON.stringify plus key order, equal to re-encoding. */

const slow = (bytes: Uint8Array) => {
  try {
    return canonicalJson(JSON.parse(Buffer.from(bytes).toString('utf8'))) === Buffer.from(bytes).toString('utf8') && Buffer.from(Buffer.from(bytes).toString('utf8')).equals(Buffer.from(bytes));
  } catch {
    return false;
  }
};
const fast = (bytes: Uint8Array) => isCanonicalJson(bytes, JSON.parse(Buffer.from(bytes).toString('utf8')));

// JSON values as a manifest holds them: safe integers, strings (any code points), nested objects and arrays.
const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.maxSafeInteger(), fc.string({ unit: 'binary' }), fc.boolean(), fc.constant(null), tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(fc.oneof(fc.string({ unit: 'binary', maxLength: 6 }), fc.constantFrom('0', '1', '9', '10', 'a', 'b')), tie('value'), { maxKeys: 5 }),
})).value;

test('canonical json: the fast check agrees with re-encoding, on canonical text and on reordered, re-spaced or re-escaped text', () => {
  fc.assert(
    fc.property(json, (v) => {
      const canonical = Buffer.from(canonicalJson(v));
      assert.equal(fast(canonical), true, canonical.toString());
      // JSON.stringify keeps insertion order: canonical only when that order is sorted
      const plain = Buffer.from(JSON.stringify(v));
      assert.equal(fast(plain), slow(plain), plain.toString());
      const spaced = Buffer.from(JSON.stringify(v, null, 1));
      assert.equal(fast(spaced), slow(spaced), spaced.toString());
    }),
    { numRuns: 2000 },
  );
});

/** SPEC.md §3 as written: keys sorted by UTF-16 code units, JSON.stringify's strings, no whitespace. */
function byTheRule(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(byTheRule).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${byTheRule(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

test('canonical json: the encoder (native JSON.stringify over a sorted copy) gives the text the rule gives, index-like keys included', () => {
  fc.assert(
    fc.property(json, (v) => {
      assert.equal(canonicalJson(v), byTheRule(v));
    }),
    { numRuns: 2000 },
  );
  assert.equal(canonicalJson({ b: [1, { d: null, c: 'x' }], a: true, u: undefined }), '{"a":true,"b":[1,{"c":"x","d":null}]}');
  assert.equal(canonicalJson({ 10: 1, 9: 2, a: { 1: 0 } }), '{"10":1,"9":2,"a":{"1":0}}');
  assert.throws(() => canonicalJson({ a: 1.5 }), /safe integers/);
  assert.throws(() => canonicalJson([undefined]), /cannot encode undefined/);
});

test('canonical json: non-canonical spellings of the same value are refused', () => {
  const cases: Array<[string, boolean]> = [
    ['{"a":1,"b":[2,"x"]}', true],
    ['{"b":1,"a":2}', false], // keys out of order
    ['{"a":1,"a":1}', false], // a duplicate key
    ['{"a":1.0}', false],
    ['{"a":1e0}', false],
    ['{"a":"\\u0041"}', false], // an escape JSON.stringify does not use
    ['{"a":"\\/"}', false],
    ['{"a": 1}', false],
    ['{"10":1,"9":2}', true], // index-like keys: canonical order is by UTF-16, not by number
    ['{"9":2,"10":1}', false],
  ];
  for (const [text, want] of cases) assert.equal(fast(Buffer.from(text)), want, text);
  assert.equal(fast(Buffer.from([0x22, 0xff, 0x22])), false, 'invalid UTF-8 is not canonical');
});

test('manifest: decodeManifest refuses a manifest whose keys are out of order, and takes its canonical bytes', async () => {
  await initHash();
  const m: Manifest = {
    version: 1,
    chunking: { algo: 'fastcdc-gear32-v1', min: 16384, avg: 65536, max: 262144 },
    encryption: 'none',
    entries: [{ type: 'dir', path: '.', mode: 0o755, uid: 0, gid: 0, mtime: '1', xattrs: { 'user.b': 'eA==', 'user.a': 'eQ==' } }],
  };
  assert.deepEqual(decodeManifest(encodeManifest(m)), m);
  assert.throws(() => decodeManifest(Buffer.from(JSON.stringify(m))), /canonical/); // chunking and entries in insertion order
});

test('manifest: encodeManifestFrom (entries encoded one by one, as a build does while its workers run) gives encodeManifest\'s bytes', () => {
  const id = 'ab'.repeat(32);
  const m: Manifest = {
    version: 1,
    chunking: { algo: 'fastcdc-gear32-v1', min: 16384, avg: 65536, max: 262144 },
    encryption: 'convergent-aes-256-gcm-v1',
    entries: [
      { type: 'dir', path: '.', mode: 0o755, uid: 0, gid: 0, mtime: '1', xattrs: { 'user.b': 'eA==', 'user.a': 'eQ==' } },
      { type: 'file', path: 'entries', mode: 0o644, uid: 1, gid: 2, mtime: '-3', size: 9, blake3: id, extents: [{ size: 5, key: id, id }, { hole: 4 }] },
      { type: 'hardlink', path: 'f"\u00e9', target: 'entries' },
    ],
  };
  const { entries, ...head } = m;
  assert.deepEqual(encodeManifestFrom(head, entries.map((e) => canonicalJson(e))), encodeManifest(m));
});
