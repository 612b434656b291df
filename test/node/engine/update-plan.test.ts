// An update is one recorded plan: a node stopped inside any step of it (before or after the host
// changed) resumes the same plan at restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PrimitiveOf } from '../../../node/primitives/types.ts';
import { deployment, GiB, setup, tablePrimitive, TWIN } from './engine.testing.ts';

/**
 * The table primitive, except that its call number `at` (counting from when `arm()` is called)
 * stops inside the primitive, after (`effect`) or before changing the host, until the engine is
 * stopped: a node killed in the middle of that step.
 */
function stoppingPrimitive(objects: Map<string, number>, calls: string[]) {
  const inner = tablePrimitive(objects, calls);
  let n = -1;
  let at = -1;
  let effect = false;
  let reached: () => void = () => undefined;
  const hit = new Promise<void>((r) => (reached = r));
  const maybeStop = async <T>(ctx: { signal: AbortSignal }, run: () => Promise<T>): Promise<T> => {
    if (n < 0 || n++ !== at) return run();
    if (effect) await run().catch(() => undefined);
    reached();
    await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true }));
    throw new Error('unreachable');
  };
  const primitive: PrimitiveOf<'volume'> = {
    provision: (ctx, c) => maybeStop(ctx, () => inner.provision(ctx, c)),
    update: (ctx, c, p) => maybeStop(ctx, () => inner.update!(ctx, c, p)),
    deprovision: (ctx, c) => maybeStop(ctx, () => inner.deprovision(ctx, c)),
  };
  return { primitive, hit, arm: (call: number, withEffect: boolean) => ((n = 0), (at = call), (effect = withEffect)) };
}

test('engine: an update stopped inside any of its steps resumes the same plan at restart and ends as if never stopped', async (t) => {
  // v0 {a, b} -> v1 {a grown, c new, b gone}: three steps (deprovision b, provision c, update a).
  for (const step of [0, 1, 2]) {
    for (const effect of [false, true]) {
      await t.test(`stopped in step ${step}, ${effect ? 'after' : 'before'} the host changed`, async (t) => {
        const contract = 40 + step * 2 + Number(effect);
        const objects = new Map<string, number>();
        const calls: string[] = [];
        const stopping = stoppingPrimitive(objects, calls);
        const g = setup(t);
        const first = g.engineWith({ volume: stopping.primitive });
        const v0 = deployment(contract, 0, { a: GiB, b: GiB });
        g.contract(contract, v0);
        first.engine.start();
        await g.api.deploy(TWIN, v0);
        await g.settled();
        const v1 = deployment(contract, 1, { a: 2 * GiB, c: GiB });
        g.contract(contract, v1);
        stopping.arm(step, effect);
        await g.api.update(TWIN, v1);
        await stopping.hit;
        await first.engine.close(); // the node dies inside the primitive
        assert.equal(g.queue.size(), 1, 'the update job is still queued');
        // Before, the restarted job diffed v1 against a header already at v1 ("expecting
        // deployment version 2") and was dropped with the update half done.
        const second = g.engineWith({ volume: tablePrimitive(objects, calls) });
        second.engine.start();
        await g.settled();
        assert.deepEqual(g.states(contract), { a: 'ok', c: 'ok' });
        assert.equal(g.store.get(TWIN, contract).version, 1);
        assert.deepEqual([...objects].sort(), [[`${TWIN}-${contract}-a`, 2 * GiB], [`${TWIN}-${contract}-c`, GiB]]);
        assert.deepEqual(g.store.get(TWIN, contract).workloads.map((w) => [w.name, w.version]), [['a', 1], ['c', 1]], 'in signed order');
        assert.deepEqual(g.queue.parked(), []);
        assert.equal((g.db.sql.prepare('SELECT COUNT(*) AS n FROM update_plans').get() as { n: number }).n, 0, 'plan gone');
        // no step is recorded twice nor skipped: one result per step after the plan was recorded
        const states = g.store.changes(TWIN, contract).slice(-3).map((w) => `${w.name} ${w.result.state}`);
        assert.deepEqual(states, ['b deleted', 'c ok', 'a ok']);
      });
    }
  }
});
