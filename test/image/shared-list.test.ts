import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerPool } from '../../lib/workers.ts';
import { runSharedList, type SharedListJob, type SharedListOutcome } from '../../image/shared-list.ts';
import type { Item } from './fixtures/list-worker.ts';

/** image/shared-list: every item is done once and comes back, largest first; the first failure in list order wins; a main-thread error stops the workers. */
const pool = new WorkerPool<SharedListJob, SharedListOutcome<{ message: string }>>(new URL('./fixtures/list-worker.ts', import.meta.url), { batch: 1, size: 2 });
after(() => pool.close());

const items = (n: number, fail: number[] = []): Item[] => Array.from({ length: n }, (_, i) => ({ name: `f${i}`, size: (i * 7919) % 5000, ...(fail.includes(i) ? { fail: true } : {}) }));

test('shared list: every item once, results with their items, several batches', async () => {
  const list = items(500);
  const seen = new Map<string, string>();
  let batches = 0;
  const failed = await runSharedList(pool, list, {}, (i) => i, {
    result(item, r: string) {
      assert.ok(!seen.has(item.name), `${item.name} came back twice`);
      seen.set(item.name, r);
    },
    batch: () => batches++,
  });
  assert.equal(failed, undefined);
  assert.equal(seen.size, 500);
  for (const i of list) assert.equal(seen.get(i.name), i.name + i.name);
  assert.ok(batches >= 2, `results came in ${batches} message(s)`);
});

test('shared list: the first failure in list order (largest first) is returned, with its item', async () => {
  const list = items(300, [10, 20]);
  const failed = await runSharedList(pool, list, {}, (i) => i, { result() {} });
  // The list runs largest first: the failing item the sorted list reaches first is reported.
  const first = [...list].sort((a, b) => b.size - a.size).find((i) => i.fail)!;
  assert.equal(failed?.item.name, first.name);
  assert.equal(failed?.failure.message, `${first.name} failed`);
});

test('shared list: an error thrown by the main thread\'s callback stops the workers and is thrown', async () => {
  let calls = 0;
  await assert.rejects(
    runSharedList(pool, items(2000), {}, (i) => i, {
      result() {
        if (++calls === 1) throw new Error('refused');
      },
    }),
    /refused/,
  );
  assert.equal(calls, 1, 'no callback after the one that threw');
  // The pool is usable after a stopped list.
  assert.equal(await runSharedList(pool, items(3), {}, (i) => i, { result() {} }), undefined);
});

test('shared list: an empty list runs nothing', async () => {
  assert.equal(await runSharedList(pool, [], {}, (i: Item) => i, { result: () => assert.fail('no result') }), undefined);
});
