import { requireHost } from '../helpers/host.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, chmod, open, readdir, readFile, rm, writeFile, stat, unlink, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { ImageError } from '../../image/errors.ts';
import { chunkAt, flipByte, hasTool, richImage as setup } from './fixtures.ts';


const rejects = (code: string, text: RegExp) => (e: unknown) => {
  assert.ok(e instanceof ImageError, String(e));
  assert.equal(e.code, code, e.message);
  assert.match(e.message, text);
  return true;
};

test('tamper: a modified chunk in the store is refused, naming the file', async (t) => {
  const { dir, node, digest } = await setup(t);
  const m = await node.materialize('app').then(() => node.store.getManifest(digest));
  const manifest = JSON.parse(Buffer.from(m).toString()) as { entries: Array<{ path: string; extents?: Array<{ id?: string }> }> };
  const tool = manifest.entries.find((e) => e.path === 'bin/tool')!;
  const chunk = chunkAt(node.store, tool.extents![0]!.id!);
  await flipByte(chunk.path, chunk.offset + 20);
  await assert.rejects(node.verify('app'), rejects('CHUNK_CORRUPT', /bin\/tool/));
  await node.cache.remove(digest);
  await rm(join(dir, 'node/cache/objects'), { recursive: true });
  await assert.rejects(node.materialize('app'), rejects('CHUNK_CORRUPT', /bin\/tool/));
});

/** What a materialize may leave in the cache: staging dirs (tmp/) and trees (images/). */
async function cacheLeftovers(dir: string): Promise<{ tmp: string[]; images: string[] }> {
  const list = (d: string) => readdir(join(dir, 'node/cache', d)).catch(() => [] as string[]);
  return { tmp: await list('tmp'), images: await list('images') };
}

test('tamper: a corrupt chunk leaves nothing half-made; with the chunk repaired the same image materializes', async (t) => {
  const { dir, node, digest } = await setup(t);
  const manifest = JSON.parse(Buffer.from(await node.store.getManifest(digest)).toString()) as { entries: Array<{ path: string; extents?: Array<{ id?: string }> }> };
  const chunk = chunkAt(node.store, manifest.entries.find((e) => e.path === 'bin/tool')!.extents![0]!.id!);
  await flipByte(chunk.path, chunk.offset + 20);
  await assert.rejects(node.materialize('app'), rejects('CHUNK_CORRUPT', /bin\/tool/));
  assert.deepEqual(await cacheLeftovers(dir), { tmp: [], images: [] }, 'no staging, no tree');
  await flipByte(chunk.path, chunk.offset + 20); // the same XOR again: repaired
  const r = await node.materialize('app');
  assert.equal(r.created, true);
  assert.deepEqual((await cacheLeftovers(dir)).tmp, []);
});

test('materialize: two at once of one image give one verified tree, and no staging is left', async (t) => {
  const { dir, node, digest } = await setup(t);
  const [a, b] = await Promise.all([node.materialize('app'), node.materialize('app')]);
  assert.equal(a.path, b.path);
  assert.equal([a.created, b.created].filter(Boolean).length, 1, 'exactly one of them made the tree');
  const left = await cacheLeftovers(dir);
  assert.deepEqual(left.tmp, [], 'the loser removed its staging');
  assert.deepEqual(left.images.filter((n) => !n.endsWith('.state')), [digest]);
  await node.verify('app');
});

test('tamper: a modified manifest is refused', async (t) => {
  const { node, digest } = await setup(t);
  const path = node.store.manifestPath(digest);
  const text = await readFile(path, 'utf8');
  await writeFile(path, text.replace('"mode":420', '"mode":511'));
  await assert.rejects(node.materialize('app'), rejects('MANIFEST_CORRUPT', new RegExp(digest)));
  await assert.rejects(node.verify(`app@blake3:${digest}`), rejects('MANIFEST_CORRUPT', /does not match its digest/));
});

const cacheTampers: Array<{ name: string; code?: string; act: (tree: string) => Promise<void>; want: RegExp }> = [
  { name: 'appended content', act: (d) => appendFile(join(d, 'etc/hostname'), 'evil'), want: /etc\/hostname.*size/ },
  {
    name: 'same-size content with the mtime put back',
    act: async (d) => {
      const p = join(d, 'bin/tool');
      const ns = (await stat(p, { bigint: true })).mtimeNs;
      const fh = await open(p, 'r+');
      await fh.write(Buffer.from('EVIL'), 0, 4, 1000);
      await fh.close();
      await execa('touch', ['-m', '-d', `@${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`, p]); // exact mtime back
    },
    want: /bin\/tool.*fingerprint/,
  },
  { name: 'a changed mode', act: (d) => chmod(join(d, 'etc/hostname'), 0o666), want: /etc\/hostname.*mode/ },
  { name: 'an added file', act: (d) => writeFile(join(d, 'etc/backdoor'), 'x'), want: /etc\/backdoor.*not part of the image/ },
  { name: 'a removed file', act: (d) => unlink(join(d, 'etc/conf.d/empty')), want: /etc\/conf.d\/empty.*missing/ },
  {
    name: 'a redirected symlink',
    act: async (d) => {
      const p = join(d, 'bin/hostname-link');
      await unlink(p);
      await symlink('/etc/shadow', p);
    },
    want: /hostname-link/,
  },
];
for (const tc of cacheTampers) {
  test(`tamper: a cached image with ${tc.name} is refused at launch`, async (t) => {
    const { node } = await setup(t);
    const m = await node.materialize('app');
    await tc.act(m.path);
    await assert.rejects(node.materialize('app'), rejects('FILE_TAMPERED', tc.want));
    await assert.rejects(node.prepareRoot('app', 'w1'), rejects('FILE_TAMPERED', tc.want));
  });
}

test('tamper: a changed xattr on a cached file is refused', async (t) => {
  if (!requireHost(t, await hasTool('setfattr'), 'setfattr missing (apt-get install attr)')) return;
  const { node } = await setup(t);
  const m = await node.materialize('app');
  await execa('setfattr', ['-n', 'user.purpose', '-v', 'evil', join(m.path, 'etc/hostname')]);
  await assert.rejects(node.materialize('app'), rejects('FILE_TAMPERED', /etc\/hostname.*extended attribute user.purpose/));
});

test('tamper: a changed xattr on a shared object is refused when a new tree links it', async (t) => {
  if (!requireHost(t, await hasTool('setfattr'), 'setfattr missing (apt-get install attr)')) return;
  const { node, digest } = await setup(t);
  const m = await node.materialize('app');
  // the object itself (the tree's file is a hard link to it), then a tree made anew from the pool
  await execa('setfattr', ['-n', 'user.purpose', '-v', 'evil', join(m.path, 'etc/hostname')]);
  await node.cache.remove(digest);
  await assert.rejects(node.materialize('app'), rejects('FILE_TAMPERED', /etc\/hostname.*extended attribute user.purpose/));
});

test('tamper: an untouched cache verifies by stat alone, a touched-but-identical file is re-hashed once', async (t) => {
  const { node } = await setup(t);
  const first = await node.materialize('app');
  assert.equal(first.created, true);
  assert.equal(first.verify.rehashed, 0, 'a tree just written (each file hashed as it was written) is not read a second time');
  const quiet = await node.materialize('app');
  assert.equal(quiet.verify.rehashed, 0);
  assert.ok(quiet.verify.checked > 10);
  const p = join(first.path, 'bin/tool');
  await chmod(p, 0o755);
  await chmod(p, 0o4755); // same metadata and content, new ctime
  const again = await node.materialize('app');
  assert.equal(again.verify.rehashed, 1, 'only bin/tool is re-hashed (its hard link shares the inode)');
  assert.equal((await node.materialize('app')).verify.rehashed, 0);
});
