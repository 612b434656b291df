import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { openImageStore } from '../../image/index.ts';
import { overlaySupported } from '../../image/roots.ts';
import { requireHost } from '../helpers/host.ts';
import { prng } from './fixtures.ts';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { TestContext } from 'node:test';
import type { ImageNode } from '../../image/index.ts';

/** One cleanup hook: release workload roots (unmount) before deleting the directory under them. */
async function workspace(t: TestContext, workloads: string[]): Promise<{ dir: string; open: () => Promise<ImageNode> }> {
  const dir = await mkdtemp(join(tmpdir(), 'zos-image-roots-'));
  let node: ImageNode | undefined;
  t.after(async () => {
    for (const w of workloads) await node?.releaseRoot(w).catch(() => {});
    await node?.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { dir, open: async () => (node = await openImageStore(join(dir, 'node'), { rootMode: 'overlay' })) };
}

test('roots: three overlay workloads share one verified image copy and write privately', async (t) => {
  if (!requireHost(t, await overlaySupported(), 'overlay roots need root and overlayfs in /proc/filesystems')) return;
  const ws = await workspace(t, ['w1', 'w2', 'w3']);
  const dir = ws.dir;
  const src = join(dir, 'src');
  await mkdir(join(src, 'usr/lib'), { recursive: true });
  await writeFile(join(src, 'usr/lib/libbig.so'), prng(4 << 20, 77));
  await writeFile(join(src, 'motd'), 'hello\n');
  const node = await ws.open();
  await node.build(src, { tag: 'base', xattrs: 'skip' });
  const roots = [];
  for (const w of ['w1', 'w2', 'w3']) roots.push(await node.prepareRoot('base', w));
  assert.ok(roots.every((r) => r.mode === 'overlay'));
  await writeFile(join(roots[0]!.path, 'motd'), 'changed by w1\n');
  await writeFile(join(roots[1]!.path, 'new-file'), 'w2 only\n');
  assert.equal(await readFile(join(roots[0]!.path, 'motd'), 'utf8'), 'changed by w1\n');
  assert.equal(await readFile(join(roots[2]!.path, 'motd'), 'utf8'), 'hello\n', 'other workloads see the image');
  assert.equal(await stat(join(roots[2]!.path, 'new-file')).catch(() => 'absent'), 'absent');
  const lower = (await node.materialize('base')).path;
  assert.equal(await readFile(join(lower, 'motd'), 'utf8'), 'hello\n', 'the shared image is untouched');
  // One copy on disk: the three upper layers hold only what each workload wrote.
  const du = await execa('du', ['-skx', join(dir, 'node/roots')]);
  assert.ok(Number(du.stdout.split('\t')[0]) < 200, `roots use ${du.stdout.split('\t')[0]} KiB for 3 x 4 MiB images`);
  const again = await node.prepareRoot('base', 'w1');
  assert.equal(again.path, roots[0]!.path, 'prepareRoot is idempotent for a live workload');
  assert.equal(await readFile(join(again.path, 'motd'), 'utf8'), 'changed by w1\n');
  await roots[0]!.release();
  await roots[0]!.release();
  const mounts = await readFile('/proc/self/mountinfo', 'utf8');
  assert.ok(!mounts.includes(roots[0]!.path), 'released root is unmounted');
  assert.ok(mounts.includes(roots[1]!.path));
});

test('roots: a tampered image is refused before any workload root is mounted', async (t) => {
  if (!requireHost(t, await overlaySupported(), 'overlay roots need root and overlayfs in /proc/filesystems')) return;
  const ws = await workspace(t, ['w9']);
  const dir = ws.dir;
  const src = join(dir, 'src');
  await mkdir(src, { recursive: true });
  await writeFile(join(src, 'init'), '#!/bin/sh\necho ok\n', { mode: 0o755 });
  const node = await ws.open();
  await node.build(src, { tag: 'base', xattrs: 'skip' });
  const { path } = await node.materialize('base');
  await writeFile(join(path, 'init'), '#!/bin/sh\necho pwned\n');
  await assert.rejects(node.prepareRoot('base', 'w9'), /"init".*(size|fingerprint)/);
  assert.ok(!(await readFile('/proc/self/mountinfo', 'utf8')).includes(join(dir, 'node/roots/w9')));
});
