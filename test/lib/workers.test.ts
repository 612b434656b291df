import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execa } from 'execa';
import { WorkerError, WorkerPool, execArgvWithoutTsx } from '../../lib/workers.ts';

/** lib/workers.ts (issue 16): a worker pool usable from the TypeScript sources that never holds the process. */

const DOUBLE = new URL('./fixtures/double-worker.ts', import.meta.url);

test('worker pool: runs a TypeScript module under tsx, batches a burst over its workers, keeps order', async (t) => {
  const pool = new WorkerPool<number, number>(DOUBLE, { size: 2, batch: 8 });
  t.after(() => pool.close());
  const burst = Array.from({ length: 100 }, (_, i) => i);
  assert.deepEqual(await Promise.all(burst.map((n) => pool.run(n))), burst.map((n) => n * 2));
  assert.equal(pool.pending, 0);
  assert.equal(pool.warm, true);
});

test('worker pool: execArgvWithoutTsx drops only tsx preloads, and a TypeScript module still runs without them', async (t) => {
  assert.deepEqual(execArgvWithoutTsx(['--import', 'tsx', '--max-old-space-size=64']), ['--max-old-space-size=64']);
  assert.deepEqual(execArgvWithoutTsx(['--import=tsx/esm', '--require', '/x/node_modules/tsx/dist/preflight.cjs', '--import', 'file:///x/node_modules/tsx/dist/loader.mjs', '--enable-source-maps']), ['--enable-source-maps']);
  assert.deepEqual(execArgvWithoutTsx(['--import', './my-tsxish.mjs', '-r', 'dotenv/config']), ['--import', './my-tsxish.mjs', '-r', 'dotenv/config']);
  assert.ok(process.execArgv.some((a) => /tsx/.test(a)), 'this test runs under tsx');
  const pool = new WorkerPool<null, string[]>(new URL('./fixtures/argv-worker.ts', import.meta.url), { size: 1, execArgv: execArgvWithoutTsx() });
  t.after(() => pool.close());
  const argv = await pool.run(null);
  assert.ok(!argv.some((a) => /tsx/.test(a)), `worker options: ${JSON.stringify(argv)}`);
});

test('worker pool: a job that throws rejects with its message and the pool keeps working', async (t) => {
  const pool = new WorkerPool<number, number>(DOUBLE, { size: 1 });
  t.after(() => pool.close());
  const [bad, good] = await Promise.allSettled([pool.run(-1), pool.run(4)]);
  assert.equal(bad.status, 'rejected');
  assert.ok((bad as PromiseRejectedResult).reason instanceof WorkerError);
  assert.match((bad as PromiseRejectedResult).reason.message, /negative: -1/);
  assert.deepEqual(good, { status: 'fulfilled', value: 8 });
});

test('worker pool: byte results come back whole', async (t) => {
  const pool = new WorkerPool<{ bytes: number }, Uint8Array>(DOUBLE, { size: 1 });
  t.after(() => pool.close());
  const out = await pool.run({ bytes: 1 << 20 });
  assert.equal(out.length, 1 << 20);
  assert.equal(out[12345], 7);
});

test('worker pool: a module that does not load fails its jobs, and the pool stops starting workers', async (t) => {
  const pool = new WorkerPool<number, number>(new URL('./fixtures/broken-worker.ts', import.meta.url), { size: 1 });
  t.after(() => pool.close());
  await assert.rejects(pool.run(1), (e: Error) => e instanceof WorkerError && /does not load/.test(e.message));
  await assert.rejects(pool.run(2), /workers cannot start: .*does not load/);
  pool.warmUp();
  assert.equal(pool.warm, false);
});

test('worker pool: a missing module is refused at once', () => {
  assert.throws(() => new WorkerPool(new URL('./fixtures/no-such-worker.ts', import.meta.url)), /worker module not found/);
});

test('worker pool: a closed pool refuses work and fails what was queued', async () => {
  const pool = new WorkerPool<number, number>(DOUBLE, { size: 1 });
  const queued = pool.run(1);
  await pool.close();
  await assert.rejects(queued, /closed/);
  await assert.rejects(pool.run(2), /closed/);
});

test('worker pool: a process that never closes its pool still exits (idle workers are let go)', async () => {
  const t0 = Date.now();
  const r = await execa('node', ['--import', 'tsx', new URL('./fixtures/pool-exit.ts', import.meta.url).pathname], { timeout: 60_000, reject: false });
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(r.stdout.trim(), '[2,4,6]');
  assert.ok(Date.now() - t0 < 60_000);
});
