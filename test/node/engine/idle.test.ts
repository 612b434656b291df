import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PrimitiveOf } from '../../../node/primitives/types.ts';
import { deployment, GiB, setup, tablePrimitive, TWIN } from './engine.testing.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The primitives' idle work (the image cache's gc of the machines) runs in the engine's job loop:
 * once the queue is empty (after start, and after each run of jobs, however many), with the workloads
 * the node holds; a job that arrives meanwhile makes `busy` true, the idle work stops, and the job runs.
 */
test('engine idle: once the queue is empty after jobs, once per idle period however many jobs ran, and a job arriving during it stops it and still runs', async (t) => {
  const idles: Array<{ period: number; holding: string[]; volumes: number }> = [];
  let holdNext = false;
  let stoppedByBusy = 0;
  const objects = new Map<string, number>();
  const volume: PrimitiveOf<'volume'> = {
    ...tablePrimitive(objects, []),
    async idle(ictx) {
      idles.push({ period: ictx.period, holding: [...ictx.holding.keys()].sort(), volumes: ictx.workloads.length });
      if (!holdNext) return;
      holdNext = false;
      // A long collection, step by step, as the image cache's gc does it: stops once a job waits.
      for (let i = 0; i < 1000 && !ictx.busy(); i++) await sleep(5);
      if (ictx.busy()) stoppedByBusy++;
    },
  };
  const g = setup(t, 64 * GiB, { volume });
  const waitFor = async (what: () => boolean, label: string) => {
    for (let i = 0; i < 500 && !what(); i++) await sleep(10);
    assert.ok(what(), label);
  };

  // Two deployments queued before the engine starts: the loop runs both jobs, then idles once.
  for (const id of [1, 2]) {
    const dl = deployment(id, 0, { [`v${id}`]: GiB });
    g.contract(id, dl);
    await g.api.deploy(TWIN, dl);
  }
  g.engine.start();
  await g.settled();
  await waitFor(() => idles.length === 1, 'one idle run after both jobs');
  assert.deepEqual(idles[0], { period: 1, holding: [`${TWIN}-1-v1`, `${TWIN}-2-v2`], volumes: 2 });
  await sleep(100);
  assert.equal(idles.length, 1, 'no job since: no second run');

  // The next job's idle period is held up by a slow collection; a deploy arriving meanwhile stops it and runs.
  holdNext = true;
  const dl3 = deployment(3, 0, { v3: GiB });
  g.contract(3, dl3);
  await g.api.deploy(TWIN, dl3);
  await waitFor(() => idles.length === 2, 'the idle run after the third job started');
  const dl4 = deployment(4, 0, { v4: GiB });
  g.contract(4, dl4);
  await g.api.deploy(TWIN, dl4);
  await g.settled();
  assert.equal(stoppedByBusy, 1, 'the collection saw the waiting job and stopped');
  assert.deepEqual(g.states(4), { v4: 'ok' }, 'the racing deploy ran');
  await waitFor(() => idles.length === 3, 'an idle run after it');
  assert.deepEqual(idles.map((i) => i.period), [1, 2, 3]);
  assert.deepEqual(idles[2]!.holding, [1, 2, 3, 4].map((id) => `${TWIN}-${id}-v${id}`));
});
