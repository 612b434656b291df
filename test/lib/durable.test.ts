// lib/durable's writeFileDurably, the one way state files are replaced: the file is whole or the
// old one, never empty or half-written, and a failure leaves no temp file behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { writeFileDurably } from '../../lib/durable.ts';
import { setFailpoints } from '../../lib/failpoints.ts';

function tempDir(t: import('node:test').TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'zos-durable-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('writeFileDurably: text and bytes, the mode of a new file, concurrent writes of one path', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'state.json');
  await writeFileDurably(file, '{"a":1}', 0o600);
  assert.equal(readFileSync(file, 'utf8'), '{"a":1}');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  await writeFileDurably(file, new Uint8Array([1, 2, 3]));
  assert.deepEqual([...readFileSync(file)], [1, 2, 3]);
  // Two writes of one path at once in one process each use their own temp file: the last rename wins whole.
  await Promise.all([writeFileDurably(file, 'x'.repeat(100_000)), writeFileDurably(file, 'y'.repeat(100_000))]);
  assert.match(readFileSync(file, 'utf8'), /^(x{100000}|y{100000})$/);
  assert.deepEqual(readdirSync(dir), ['state.json']);
});

test('writeFileDurably: a failure before the rename keeps the old file whole and removes the temp file', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'state.json');
  writeFileSync(file, 'old');
  setFailpoints('durable.write.renaming=error(disk gone)');
  t.after(() => setFailpoints(undefined));
  await assert.rejects(writeFileDurably(file, 'new'), /failpoint durable.write.renaming: disk gone/);
  assert.equal(readFileSync(file, 'utf8'), 'old');
  assert.deepEqual(readdirSync(dir), ['state.json']);
  await assert.rejects(writeFileDurably(join(dir, 'missing', 'x'), 'new'), { code: 'ENOENT' });
});

test('writeFileDurably: a process killed between the write and the rename leaves the old file whole', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'state.json');
  writeFileSync(file, '{"generation":1}');
  const script = `import { writeFileDurably } from ${JSON.stringify(new URL('../../lib/durable.ts', import.meta.url).href)};
await writeFileDurably(${JSON.stringify(file)}, '{"generation":2}');`;
  const r = await execa(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    reject: false, env: { ZOS_FAILPOINTS: 'durable.write.renaming=crash' },
  });
  assert.equal(r.signal, 'SIGKILL', r.stderr);
  assert.match(r.stderr, /"failpoint":"durable.write.renaming"/);
  assert.equal(readFileSync(file, 'utf8'), '{"generation":1}');
  // The killed writer's temp file holds the whole new state (synced), under a name readers skip.
  const left = readdirSync(dir).filter((f) => f !== 'state.json');
  assert.equal(left.length, 1);
  assert.match(left[0]!, /^state\.json\.tmp-\d+-0$/);
  assert.equal(readFileSync(join(dir, left[0]!), 'utf8'), '{"generation":2}');

  // The next write into the directory removes it (its writer is dead); a live process's temp file
  // (a write under way) and other names stay.
  const live = `other.json.tmp-${process.ppid}-3`;
  writeFileSync(join(dir, live), 'under way');
  writeFileSync(join(dir, 'notes.tmp-x-1'), 'not ours');
  await writeFileDurably(file, '{"generation":3}');
  assert.equal(readFileSync(file, 'utf8'), '{"generation":3}');
  assert.deepEqual(readdirSync(dir).sort(), ['notes.tmp-x-1', live, 'state.json'].sort());
});
