import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { execa } from 'execa';
import { JobQueue } from '../../../node/engine/queue.ts';
import { DeploymentStore } from '../../../node/engine/store.ts';
import { ZosError } from '../../../node/errors.ts';
import { parseDeployment } from '../../../node/model/index.ts';
import { openDb, tempDbPath } from './engine-db.testing.ts';

test('queue: jobs come out in FIFO order, peek keeps them, done removes them', (t) => {
  const q = new JobQueue(openDb(t, tempDbPath(t)));
  const a = q.enqueue({ op: 'provision', twin: 1, contract: 10, payload: { x: 1 } });
  const b = q.enqueue({ op: 'deprovision', twin: 1, contract: 11, message: 'contract canceled' });
  assert.equal(a.version, 1);
  assert.equal(q.peek()?.id, a.id);
  assert.equal(q.peek()?.id, a.id);
  assert.deepEqual(q.peek()?.payload, { x: 1 });
  assert.equal(q.done(a.id), true);
  assert.equal(q.done(a.id), false);
  assert.deepEqual(q.peek(), { ...b, payload: null });
  assert.equal(q.size(), 1);
  assert.equal(q.hasPending(1, 11), true);
  assert.equal(q.hasPending(1, 10), false);
});

test('queue: a job taken but not done is still there after close and reopen', async (t) => {
  const path = tempDbPath(t);
  const db = openDb(t, path);
  const q = new JobQueue(db);
  const job = q.enqueue({ op: 'update', twin: 3, contract: 30, payload: { version: 1 } });
  const taken = await q.next(AbortSignal.timeout(1000));
  assert.equal(taken.id, job.id);
  await db.close();
  const again = new JobQueue(openDb(t, path));
  assert.deepEqual(again.list(), [job]);
});

test('queue: a job survives SIGKILL of the worker process mid-job', async (t) => {
  const path = tempDbPath(t);
  const fixture = fileURLToPath(new URL('./queue-crash.fixture.ts', import.meta.url));
  const r = await execa('node', ['--import', 'tsx', fixture, path], { reject: false, timeout: 30_000 });
  assert.equal(r.signal, 'SIGKILL', r.stderr);
  assert.match(r.stdout, /^took \d+/);
  const jobs = new JobQueue(openDb(t, path)).list();
  assert.equal(jobs.length, 1);
  assert.equal(jobs[0]!.op, 'provision');
  assert.deepEqual(jobs[0]!.payload, { hello: 'world' });
  assert.equal(jobs[0]!.message, 'from child');
});

test('queue: next() waits for an enqueue and rejects when aborted', async (t) => {
  const q = new JobQueue(openDb(t, tempDbPath(t)), { pollMs: 60_000 });
  const waiting = q.next(AbortSignal.timeout(5000));
  setTimeout(() => q.enqueue({ op: 'pause', twin: 1, contract: 2 }), 20);
  const job = await waiting;
  assert.equal(job.op, 'pause');
  q.done(job.id);
  const ac = new AbortController();
  const aborted = q.next(ac.signal);
  ac.abort(new Error('shutting down'));
  await assert.rejects(aborted, /shutting down/);
});

test('queue: next() notices a job enqueued through another handle', async (t) => {
  const path = tempDbPath(t);
  const worker = new JobQueue(openDb(t, path), { pollMs: 20 });
  const api = new JobQueue(openDb(t, path));
  const waiting = worker.next(AbortSignal.timeout(5000));
  setTimeout(() => api.enqueue({ op: 'resume', twin: 9, contract: 90 }), 30);
  const job = await waiting;
  assert.equal(job.op, 'resume');
  assert.equal(worker.done(job.id), true);
  assert.equal(api.size(), 0);
});

test('queue: a malformed job is rejected and nothing is stored', (t) => {
  const q = new JobQueue(openDb(t, tempDbPath(t)));
  const bad: unknown[] = [
    { op: 'explode', twin: 1, contract: 1 },
    { op: 'provision', twin: -1, contract: 1 },
    { op: 'provision', twin: 1, contract: 1.5 },
    { op: 'provision', twin: 1, contract: 1, extra: true },
  ];
  for (const job of bad) {
    assert.throws(() => q.enqueue(job as never), (e) => ZosError.is(e, 'BAD_REQUEST'), JSON.stringify(job));
  }
  assert.equal(q.size(), 0);
});

test('queue: storing a deployment and enqueueing its job commit or roll back together', (t) => {
  const db = openDb(t, tempDbPath(t));
  const store = new DeploymentStore(db);
  const q = new JobQueue(db);
  const dl = (contract: number) =>
    parseDeployment({ twin_id: 1, contract_id: contract, workloads: [{ name: 'net', type: 'network', data: {} }] });
  db.transaction(() => {
    store.create(dl(1));
    q.enqueue({ op: 'provision', twin: 1, contract: 1 });
  });
  assert.throws(() =>
    db.transaction(() => {
      q.enqueue({ op: 'provision', twin: 1, contract: 2 });
      store.create(dl(2)); // conflict on the network name
    }),
  /conflict/);
  assert.deepEqual(q.list().map((j) => j.contract), [1]);
  assert.equal(store.has(1, 2), false);
});
