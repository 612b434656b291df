import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { syncFileSystem } from '../../lib/durable.ts';
import { trimMallocPeriodically } from '../../lib/memory.ts';
import { zosNative, zosNativeError } from '../../lib/native.ts';

/**
 * Our addon (native/, built by node-gyp at install): syncfs(2) without forking the process, and
 * malloc_trim(0). Both callers fall back or do without where it cannot load, so this fails if an
 * install left them there.
 */
test('native: the addon loads, and syncFileSystem uses its syncfs(2), not a `sync -f` child', async (t) => {
  assert.ok(zosNative(), `zos-native did not load: ${zosNativeError()}`);
  // As in the OS image, which has no `sync` program: with none on PATH, only the addon can flush.
  const dir = await mkdtemp(join(tmpdir(), 'zos-native-'));
  const path = process.env.PATH;
  t.after(async () => {
    process.env.PATH = path;
    await rm(dir, { recursive: true, force: true });
  });
  process.env.PATH = join(dir, 'no-such-bin');
  await syncFileSystem(dir);
});

test('native: syncfs flushes the filesystem of a directory or a file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'zos-native-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'f'), 'data');
  assert.equal(await zosNative()!.syncfs(dir), undefined);
  await syncFileSystem(join(dir, 'f'));
});

test('native: syncfs errors say what failed, shaped like node:fs errors', async () => {
  const missing = join(tmpdir(), `zos-native-missing-${process.pid}`, 'x');
  await assert.rejects(syncFileSystem(missing), (err: NodeJS.ErrnoException) => {
    assert.equal(err.message, `syncfs: ENOENT: No such file or directory, open '${missing}'`);
    assert.deepEqual([err.code, err.errno, err.syscall, err.path], ['ENOENT', -2, 'open', missing]);
    return true;
  });
  const native = zosNative()!;
  for (const bad of [undefined, 3, '', 'x'.repeat(5000)]) {
    assert.throws(() => native.syncfs(bad as string), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: /path must be a non-empty string/ });
  }
  assert.throws(() => native.syncfs('/tmp\0/etc'), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: /NUL/ });
});

test('native: mallocTrim returns freed malloc memory; the periodic trim never keeps the process alive', async () => {
  assert.equal(typeof zosNative()!.mallocTrim(), 'boolean');
  const stop = trimMallocPeriodically(1, 5);
  await new Promise((r) => setTimeout(r, 20));
  stop();
});
