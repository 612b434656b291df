import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { openImageStore } from '../../image/index.ts';
import { isRoot } from '../../image/fsutil.ts';
import { hostFeaturesRequired, requireHost } from '../helpers/host.ts';
import { hasTool, makeRichTree, tempDir } from './fixtures.ts';
import { assertSameTree } from './tree-compare.ts';

const root = isRoot();

test('roundtrip: build -> store -> materialize gives an identical tree (modes, owners, links, sparse, unicode, xattrs)', async (t) => {
  const xattrs = await hasTool('setfattr');
  if (!requireHost(t, xattrs, 'setfattr/getfattr missing (Debian package "attr"): cannot test xattrs')) return;
  // Without root the tree has no foreign owners or device nodes; the rest is still checked, so the
  // test is not marked skipped (a later failure must count as a failure). Under CI root is required.
  if (!root) {
    if (hostFeaturesRequired()) requireHost(t, root, 'not root: owners and device nodes are not tested');
    console.warn(`PARTIAL ${t.name}: not root, owners and device nodes are not compared`);
  }
  const dir = await tempDir(t);
  const src = join(dir, 'src');
  await makeRichTree(src, { root, xattrs });
  const node = await openImageStore(join(dir, 'node'));
  t.after(() => node.close());
  const built = await node.build(src, { tag: 'rich', xattrs: 'require' });
  assert.match(built.ref, /^rich@blake3:[0-9a-f]{64}$/);
  assert.ok(built.holeBytes >= 8 << 20, `sparse holes recorded (${built.holeBytes})`);

  const m = await node.materialize('rich');
  assert.equal(m.created, true);
  await assertSameTree(m.path, src, { xattrs, owners: root });

  const sparse = await lstat(join(m.path, 'data/sparse.img'));
  assert.equal(sparse.size, (8 << 20) + 100_000 + (4 << 20));
  assert.ok(sparse.blocks * 512 < 1 << 20, `sparse file stays sparse (${sparse.blocks * 512} bytes allocated)`);

  const again = await node.materialize(built.ref);
  assert.equal(again.created, false);
  assert.equal(again.verify.rehashed, 0, 'an unchanged verified cache is not re-hashed');
});

test('roundtrip: a tarball of the tree builds the same image as the directory', async (t) => {
  const xattrs = await hasTool('setfattr');
  const dir = await tempDir(t);
  const src = join(dir, 'src');
  await makeRichTree(src, { root, xattrs });
  const tarball = join(dir, 'rootfs.tar');
  await execa('tar', ['--format=posix', '--xattrs', '--xattrs-include=*', '-cf', tarball, '-C', src, '.']);
  const node = await openImageStore(join(dir, 'node'));
  t.after(() => node.close());
  const fromDir = await node.build(src, { tag: 'a' });
  const fromTar = await node.build(tarball, { tag: 'b' });
  assert.equal(fromTar.digest, fromDir.digest);
  assert.equal(fromTar.newChunks, 0, 'second build stores nothing new');
});

test('roundtrip: encrypted images decode to the same tree and their chunks do not contain the plaintext', async (t) => {
  const dir = await tempDir(t);
  const src = join(dir, 'src');
  await makeRichTree(src, { root, xattrs: false });
  const node = await openImageStore(join(dir, 'node'));
  t.after(() => node.close());
  const plainNode = await openImageStore(join(dir, 'plain'));
  t.after(() => plainNode.close());
  const plain = await plainNode.build(src, { tag: 'plain', xattrs: 'skip' });
  const enc = await node.build(src, { tag: 'enc', encrypt: true, xattrs: 'skip' });
  assert.notEqual(enc.digest, plain.digest);
  assert.equal(enc.manifest.encryption, 'convergent-aes-256-gcm-v1');
  const again = await node.build(src, { tag: 'enc2', encrypt: true, xattrs: 'skip' });
  assert.equal(again.digest, enc.digest, 'convergent encryption is deterministic');
  const r = await node.verify('enc');
  assert.equal(r.digest, enc.digest);
  const grep = await execa('grep', ['-rl', 'привет', join(dir, 'node/store/chunks'), join(dir, 'node/store/packs')], { reject: false });
  assert.equal(grep.stdout.trim(), '', 'no encrypted chunk holds readable text');
  const plainGrep = await execa('grep', ['-rl', 'привет', join(dir, 'plain/store/chunks'), join(dir, 'plain/store/packs')], { reject: false });
  assert.notEqual(plainGrep.stdout.trim(), '', 'control: the unencrypted store does show the text');
  const m = await node.materialize('enc');
  await assertSameTree(m.path, src, { xattrs: false, owners: root });
});
