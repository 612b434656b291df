import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mapLimit } from '../../lib/parallel.ts';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('mapLimit: results in input order, never more than `limit` calls at once', async () => {
  let running = 0;
  let peak = 0;
  const out = await mapLimit([30, 5, 20, 1, 10, 2], 3, async (ms, i) => {
    peak = Math.max(peak, ++running);
    await tick(ms);
    running--;
    return i * 10;
  });
  assert.deepEqual(out, [0, 10, 20, 30, 40, 50]);
  assert.equal(peak, 3);
});

test('mapLimit: the first failure is thrown after the running calls settle, and no new call starts', async () => {
  const started: number[] = [];
  let settled = 0;
  await assert.rejects(
    mapLimit([1, 2, 3, 4, 5, 6], 2, async (n) => {
      started.push(n);
      await tick(n === 2 ? 1 : 20);
      settled++;
      if (n === 2) throw new Error('two failed');
      return n;
    }),
    /two failed/,
  );
  assert.deepEqual(started, [1, 2]);
  assert.equal(settled, started.length, 'nothing left running behind the caller');
});

test('mapLimit: an empty list is fine', async () => {
  assert.deepEqual(await mapLimit([], 4, async () => 1), []);
});
