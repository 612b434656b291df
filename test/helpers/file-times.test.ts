import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

const REPORTER = new URL('./file-times.mjs', import.meta.url).pathname;

test("file-times reporter: node's TAP with each file's time after it and the slowest before the summary; node's closing line and exit code", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'zos-file-times-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const files = { 'a.test.mjs': "test('a passes', () => {});", 'b.test.mjs': "test('b waits', () => new Promise((r) => setTimeout(r, 600)));", 'c.test.mjs': "test('c fails', () => { throw new Error('c broke'); });" };
  for (const [name, body] of Object.entries(files)) await writeFile(join(dir, name), `import { test } from 'node:test';\n${body}\n`);
  const run = (names: string[]) => execa(process.execPath, ['--test', '--test-concurrency=1', `--test-reporter=${REPORTER}`, '--test-reporter-destination=stdout', ...names],
    // without the runner's NODE_TEST_CONTEXT, which would make it report to us as a child file
    { cwd: dir, reject: false, extendEnv: false, env: { PATH: process.env.PATH } });

  const ok = await run(['a.test.mjs', 'b.test.mjs']);
  assert.equal(ok.exitCode, 0);
  const lines = String(ok.stdout).split('\n');
  const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
  assert.ok(at(/^ok \d+ - a passes$/) < at(/^# file +\d+\.\d s a\.test\.mjs$/), "a's time follows its result");
  assert.ok(at(/^# file +\d+\.\d s a\.test\.mjs$/) < at(/^ok \d+ - b waits$/), 'and comes before the next file');
  const b = /^# file +(\d+\.\d) s b\.test\.mjs$/.exec(lines[at(/^# file .* b\.test\.mjs$/)]!)!;
  assert.ok(Number(b[1]) >= 0.6, `b's time covers its 600 ms (${b[1]} s)`);
  const table = at(/^# slowest 2 of 2 files/);
  assert.match(lines[table + 1]!, /s b\.test\.mjs$/, 'slowest first');
  assert.match(lines[table + 2]!, /s a\.test\.mjs$/);
  assert.ok(table < at(/^# tests 2$/), 'before the summary');
  assert.match(String(ok.stdout).trimEnd().split('\n').at(-1)!, /^# duration_ms [\d.]+$/, "node's closing line is last");

  const failed = await run(['a.test.mjs', 'c.test.mjs']);
  assert.equal(failed.exitCode, 1, 'a failure still fails the run');
  assert.match(String(failed.stdout), /^not ok \d+ - c fails$/m);
  assert.match(String(failed.stdout), /^# file +\d+\.\d s c\.test\.mjs$/m);
  assert.match(String(failed.stdout), /^# fail 1$/m);
});
