import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildImage } from '../../image/build.ts';
import { DirStore } from '../../image/store/dir-store.ts';
import { prng, tempDir } from './fixtures.ts';

test('build trace: ZOS_BUILD_TRACE=1 prints each phase\'s wall time and the CPU of every busy thread; unset, nothing', async (t) => {
  const dir = await tempDir(t);
  const src = join(dir, 'src');
  await mkdir(src);
  for (let i = 0; i < 3; i++) await writeFile(join(src, `f${i}`), prng(200_000, i));
  const store = await DirStore.open(join(dir, 'store'));
  const printed: string[] = [];
  const write = process.stderr.write;
  t.after(() => {
    process.stderr.write = write;
    delete process.env.ZOS_BUILD_TRACE;
  });
  process.stderr.write = ((s: string) => printed.push(s) > 0) as typeof process.stderr.write;
  await buildImage(src, { store, tag: 'a', xattrs: 'skip' });
  assert.deepEqual(printed, [], 'off by default');
  process.env.ZOS_BUILD_TRACE = '1';
  await buildImage(src, { store, tag: 'b', xattrs: 'skip' });
  const lines = printed.join('').trimEnd().split('\n');
  assert.match(lines[0]!, /^build trace: .*\(main, \d+/, 'the main thread, then the workers and helpers by thread id');
  assert.deepEqual(lines.slice(1).map((l) => l.trim().split(/ {2,}/)[0]), ['pool started', 'scanned', 'first files back', 'files stored', 'manifest stored', 'tagged', 'total']);
  for (const l of lines.slice(1, -1)) assert.match(l, /^ {2}[a-z ]+ +\d+\.\d( +\d+\.\d)+$/, l);
});
