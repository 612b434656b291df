import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Serial } from '../../lib/serial.ts';

test('serial: steps run one at a time in call order; a failure fails only its caller; idle waits for all', async () => {
  const s = new Serial();
  const seen: string[] = [];
  let running = 0;
  const step = (name: string, ms: number, fail = false) => s.run(async () => {
    running++;
    assert.equal(running, 1, `${name} overlapped another step`);
    await sleep(ms);
    seen.push(name);
    running--;
    if (fail) throw new Error(`${name} failed`);
    return name;
  });
  const a = step('a', 30);
  const b = step('b', 1, true);
  const c = step('c', 10);
  const idle = s.idle().then(() => seen.length);
  assert.equal(await a, 'a');
  await assert.rejects(b, /b failed/);
  assert.equal(await c, 'c');
  assert.equal(await idle, 3);
  assert.deepEqual(seen, ['a', 'b', 'c']);
});
