import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
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

test('native: spawnCapture runs a command without a fork: output, exit code or signal, kill only until it has exited; start failures are node:fs-shaped', async () => {
  const n = zosNative()!;
  const env = [`PATH=${process.env.PATH}`];
  const c = n.spawnCapture('sh', ['-c', 'cat; echo err >&2; exit 4'], env, new TextEncoder().encode('in'));
  assert.ok(c.pid > 0);
  const r = await c.done;
  assert.deepEqual([r.exitCode, r.signal, r.stdout.toString(), r.stderr.toString()], [4, null, 'in', 'err\n']);
  assert.equal(c.kill(9), false, 'exited: no signal sent (its pid may be another process by now)');
  const s = n.spawnCapture('sleep', ['30'], env);
  assert.equal(s.kill(15), true);
  assert.deepEqual([(await s.done).exitCode, (await s.done).signal], [null, 15]);
  assert.throws(() => n.spawnCapture('zos-no-such-command', [], env), (e: NodeJS.ErrnoException) => e.code === 'ENOENT' && e.syscall === 'spawn' && e.path === 'zos-no-such-command');
  assert.throws(() => n.spawnCapture('sh', ['a\0b'], env), TypeError);
  assert.throws(() => n.spawnCapture('sh', 'x' as never, env), TypeError);
});
