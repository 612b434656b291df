import { test } from 'node:test';
import assert from 'node:assert/strict';
import { link, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ImageError } from '../../image/errors.ts';
import { scanTree } from '../../image/scan.ts';
import { tempDir } from './fixtures.ts';

test('scan: a file name that is not UTF-8 is refused naming it; a root that is no directory too', async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, 'src', 'lib'), { recursive: true });
  await writeFile(join(dir, 'src', 'lib', 'ok.txt'), 'x');
  await writeFile(Buffer.concat([Buffer.from(join(dir, 'src', 'lib') + '/bad-'), Buffer.from([0xff, 0xfe])]), 'x');
  await assert.rejects(scanTree(join(dir, 'src')), (e: unknown) => e instanceof ImageError && e.code === 'BAD_INPUT' && /lib\/bad-.*file name is not valid UTF-8/.test(e.message));
  await assert.rejects(scanTree(join(dir, 'src', 'lib', 'ok.txt')), (e: unknown) => e instanceof ImageError && e.code === 'BAD_INPUT' && /is not a directory/.test(e.message));
});

test('scan: entries in manifest order, symlink targets read, the second name of a hard-linked file links to the first', async (t) => {
  const dir = await tempDir(t);
  const src = join(dir, 'src');
  await mkdir(join(src, 'b'), { recursive: true });
  await writeFile(join(src, 'b', 'z'), 'data');
  await link(join(src, 'b', 'z'), join(src, 'a'));
  await symlink('b/z', join(src, 'c'));
  const items = await scanTree(src);
  assert.deepEqual(items.map((i) => [i.path, i.kind, i.linkOf ?? null, i.target ?? null]), [
    ['.', 'dir', null, null],
    ['a', 'file', null, null],
    ['b', 'dir', null, null],
    ['b/z', 'file', 'a', null],
    ['c', 'symlink', null, 'b/z'],
  ]);
});
