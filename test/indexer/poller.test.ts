import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { openStore } from '../../indexer/indexer.ts';
import { NodePoller } from '../../indexer/nodes-rmb.ts';
import { silentLogger } from '../../lib/log.ts';

/**
 * The indexer's node poller between rounds: each pause holds one abort listener and gives it back
 * when it ends, so a poller that runs for days does not pile them up (it added one per tick, and
 * `zos up` warned of a possible leak after ~3 min), and close() still ends a pause at once.
 */
test('node poller: a pause between rounds leaves no abort listener behind; close ends one at once', async (t) => {
  const sql = await openStore({ dataDir: null });
  const calls: number[] = [];
  const poller = new NodePoller({ sql, rmb: { call: async (twin: number) => (calls.push(twin), {}) } as never, log: silentLogger(), tickMs: 1 });
  t.after(async () => {
    await poller.close(); // also when an assertion fails: its loop would keep the test running
    await sql.close();
  });
  poller.start();
  await new Promise((r) => setTimeout(r, 200)); // dozens of rounds (no node is due)
  const { signal } = (poller as unknown as { abort: AbortController }).abort;
  assert.ok(getEventListeners(signal, 'abort').length <= 1, `${getEventListeners(signal, 'abort').length} abort listeners after ~200 rounds`);
  const t0 = performance.now();
  await poller.close();
  assert.ok(performance.now() - t0 < 1000);
  assert.deepEqual(calls, [], 'no node was due');
});
