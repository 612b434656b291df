import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mnemonicGenerate } from '@polkadot/util-crypto';
import { Indexer } from '../../indexer/indexer.ts';
import { startGrid, waitFor, within, type Grid, type GridUser, type NodeProcess } from '../helpers/grid.ts';
import { requireHost } from '../helpers/host.ts';
import { postgresUnavailable, startPostgres } from '../helpers/postgres.ts';
import { dropWriterSession, getJson } from './fixtures.ts';

/**
 * Node health, features and statistics the way gridproxy gets them: the indexer asks a real
 * `zos node` process over RMB through the relay, as its own twin, on a schedule.
 */
describe('indexer asks nodes over RMB', () => {
  const isRoot = process.getuid?.() === 0;
  let grid: Grid | null = null;
  let node: NodeProcess;
  let user: GridUser;
  let ix: Indexer | null = null;
  let url = '';

  before(async () => {
    if (!isRoot) return;
    grid = await startGrid();
    [node, user] = await Promise.all([grid.startNode(), grid.user()]); // neither needs the other
    ix = new Indexer({
      chainUrls: [grid.chainUrl], port: 0, log: grid.log.child({ c: 'indexer' }),
      rmb: { relayUrl: grid.relayUrl, mnemonic: mnemonicGenerate(), activationUrl: grid.activationUrl, pollTickMs: 300 },
    });
    url = await ix.start();
  });
  after(async () => {
    await ix?.close();
    await grid?.close();
  });

  const ready = (t: TestContext) => requireHost(t, isRoot, 'needs root (zos node: btrfs pool on a loop device)');

  test('healthy and features come from the node over RMB and match what it answers', async (t) => {
    if (!ready(t)) return;
    await waitFor(async () => (await getJson(`${url}/nodes/${node.nodeId}`)).body.healthy === true, 'node polled healthy', 60_000);
    const answer = await user.peer.request<string[]>(node.twinId, 'zos.system.node_features_get');
    const n = (await getJson(`${url}/nodes/${node.nodeId}`)).body;
    assert.deepEqual(n.features, answer);
    assert.ok(answer.includes('zmount'));
    const feat = (await getJson(`${url}/nodes?features=zmount&healthy=true`)).body.map((x: any) => x.nodeId);
    assert.deepEqual(feat, [node.nodeId]);
    assert.deepEqual((await getJson(`${url}/nodes?healthy=false`)).body, []);
  });

  test('/nodes/{id}/statistics asks the node live', async (t) => {
    if (!ready(t)) return;
    const direct = await user.peer.request<any>(node.twinId, 'zos.statistics.get');
    const r = await getJson(`${url}/nodes/${node.nodeId}/statistics`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.total, direct.total);
    assert.deepEqual(Object.keys(r.body).sort(), Object.keys(direct).sort());
    assert.deepEqual(await getJson(`${url}/nodes/999/statistics`).then((x) => [x.status, x.body]), [404, { error: 'node not found' }]);
  });

  test('on a shared PostgreSQL store only the process following the chain polls; a standby polls once it takes over', async (t) => {
    const noPg = isRoot ? await postgresUnavailable() : null;
    if (!ready(t) || !requireHost(t, noPg === null, noPg ?? '')) return;
    // Every await is bounded: a hang (CI at load 12 once sat here for 15 minutes) fails with its step.
    const pg = await within(startPostgres(), 60_000, 'PostgreSQL to start');
    const started: Indexer[] = [];
    const start = async () => {
      const i = new Indexer({
        chainUrls: [grid!.chainUrl], port: 0, db: pg.url, log: grid!.log.child({ c: 'indexer-pg' }),
        rmb: { relayUrl: grid!.relayUrl, mnemonic: mnemonicGenerate(), activationUrl: grid!.activationUrl, pollTickMs: 300, pollEveryMs: 1000 },
      });
      started.push(i);
      return { i, url: await within(i.start(), 60_000, 'an indexer to start') };
    };
    try {
      const a = await start();
      const b = await start();
      await waitFor(() => a.i.nodePoller !== null, 'the following process polls');
      await waitFor(async () => (await getJson(`${b.url}/nodes/${node.nodeId}`)).body.healthy === true, 'node polled healthy', 60_000);
      assert.equal(b.i.nodePoller, null, 'the standby does not poll');
      await within(a.i.close(), 30_000, 'the following process to close');
      await waitFor(() => b.i.nodePoller !== null, 'the standby polls once it follows', 30_000);
      // Its database connection drops: it stops polling (another process may hold the lock now)
      // until it holds the lock again, here at once as no other process asks.
      const lost = once(b.i.chain, 'following');
      await within(dropWriterSession(b.i.store), 30_000, 'the writer session to be ended');
      assert.deepEqual(await within(lost, 30_000, 'the process whose lock session ended to stop following'), [false]);
      assert.equal(b.i.nodePoller, null, 'a process that lost the lock does not poll');
      await waitFor(() => b.i.nodePoller !== null, 'it polls again once it holds the lock again', 30_000);
      await within(b.i.store.run('UPDATE nodes SET healthy = 0, rmb_checked_at = 0'), 30_000, 'the store to take an update');
      await waitFor(async () => (await getJson(`${b.url}/nodes/${node.nodeId}`)).body.healthy === true, 'node polled by the new follower', 60_000);
    } finally {
      const closed = await Promise.allSettled(started.map((i) => within(i.close(), 30_000, 'an indexer to close')));
      await within(pg.close(), 30_000, 'PostgreSQL to stop');
      for (const c of closed) if (c.status === 'rejected') throw c.reason;
    }
  });
});
