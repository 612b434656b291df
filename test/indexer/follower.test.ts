import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Devnet } from '../../chain/devnet/devnet.ts';
import { Keyring } from '@polkadot/keyring';
import { connectChain } from '../../chain/client/index.ts';
import { Indexer } from '../../indexer/indexer.ts';
import { silentLogger } from '../../lib/log.ts';
import { cleanups, getJson, startChainFixture, synced } from './fixtures.ts';

/** Following the chain across restarts: no block lost, none applied twice, resets and pruned chains rebuilt. */
describe('indexer follower', () => {
  test('a restart resumes at the block after the stored cursor and picks up what happened meanwhile', async (t) => {
    const cleanup = cleanups(t);
    const dir = await mkdtemp(join(tmpdir(), 'zos-ix-'));
    cleanup(() => rm(dir, { recursive: true, force: true }));
    const f = await startChainFixture();
    cleanup(() => f.close());
    const n = await f.node();
    const first = await f.indexer({ dataDir: dir });
    await synced(f, first.indexer);
    const stopped = first.indexer.chain.last!;
    await first.indexer.close();

    // While the indexer is down: two more uptime reports and a new farm.
    await n.chain.reportUptime(120);
    await n.chain.reportUptime(180);
    const other = await f.account();
    await other.chain.ensureFarm('secondfarm');

    const ix = new Indexer({ chainUrls: [f.chainUrl], port: 0, dataDir: dir, log: silentLogger() });
    cleanup(() => ix.close());
    const blocks: number[] = [];
    const url = await ix.start();
    ix.chain.on('block', (c) => blocks.push(c.block));
    await synced(f, ix);
    assert.ok(blocks.length > 0);
    assert.ok(blocks[0]! <= stopped.block + 1 + 0, `resumed at ${blocks[0]}, cursor was ${stopped.block}`);
    assert.ok(blocks[0]! > stopped.block, 'no block applied twice');
    assert.deepEqual(blocks, [...blocks].sort((a, b) => a - b));
    const [node] = (await getJson(`${url}/nodes`)).body;
    assert.equal(node.uptime, 180);
    assert.deepEqual((await getJson(`${url}/farms`)).body.map((x: any) => x.name), ['indexerfarm', 'secondfarm']);
    const events = await ix.store.all<{ c: number }>('SELECT COUNT(*) AS c FROM uptime_events');
    assert.equal(Number(events[0]!.c), 3, 'each uptime report exactly once');
  });

  test('a reset chain (the stored block hash differs) is reindexed from scratch', async (t) => {
    const cleanup = cleanups(t);
    const dir = await mkdtemp(join(tmpdir(), 'zos-ix-'));
    cleanup(() => rm(dir, { recursive: true, force: true }));
    const a = await startChainFixture();
    cleanup(() => a.close());
    await a.node();
    await a.node();
    const ia = await a.indexer({ dataDir: dir });
    await synced(a, ia.indexer);
    await ia.indexer.close();
    await a.close();

    const b = await startChainFixture();
    cleanup(() => b.close());
    await b.node();
    const ib = await b.indexer({ dataDir: dir });
    await synced(b, ib.indexer);
    assert.equal((await getJson(`${ib.url}/nodes`)).body.length, 1, 'nodes of the old chain are gone');
  });

  test('a chain that cannot replay old blocks (restarted devnet) is rebuilt from the state at its head', async (t) => {
    const cleanup = cleanups(t);
    const chainDir = await mkdtemp(join(tmpdir(), 'zos-ix-chain-'));
    cleanup(() => rm(chainDir, { recursive: true, force: true }));
    const a = await startChainFixture({ chainDataDir: chainDir });
    cleanup(() => a.close());
    const node = await a.node({ publicIp: true });
    const user = await a.account();
    await user.chain.createNameContract('snapname');
    await a.farmer.changePowerTarget(node.nodeId, 'Down');
    await a.close();

    // Reloaded from disk, the devnet serves the state at its head but not the old blocks' states.
    const devnet = new Devnet({ port: 0, dev: true, dataDir: chainDir, finalityDelayMs: 0 });
    cleanup(() => devnet.close());
    const chainUrl = await devnet.start();
    const ix = new Indexer({ chainUrls: [chainUrl], port: 0, log: silentLogger() });
    cleanup(() => ix.close());
    const url = await ix.start();
    const [n] = (await getJson(`${url}/nodes`)).body;
    assert.equal(n.nodeId, node.nodeId);
    assert.equal(n.publicConfig.ipv4, '185.206.122.40/24');
    assert.deepEqual(n.power, { state: 'Up', target: 'Down' });
    assert.equal(n.updatedAt, 0, 'the last uptime report is not in the state: unknown, not invented');
    assert.equal(n.status, 'down');
    const [c] = (await getJson(`${url}/contracts?twin_id=${user.twinId}`)).body;
    assert.deepEqual([c.type, c.details, c.state], ['name', { name: 'snapname' }, 'Created']);
    assert.equal((await getJson(`${url}/twins`)).body.length, 3);
  });
  test("a gap the chain lost while following (devnet restored from disk) is resynchronised from the state, history kept; a restart resumes", async (t) => {
    const cleanup = cleanups(t);
    const chainDir = await mkdtemp(join(tmpdir(), 'zos-ix-chain-'));
    const dir = await mkdtemp(join(tmpdir(), 'zos-ix-'));
    cleanup(() => rm(chainDir, { recursive: true, force: true }), () => rm(dir, { recursive: true, force: true }));
    const a = await startChainFixture({ chainDataDir: chainDir });
    cleanup(() => a.close());
    const node = await a.node();
    const user = await a.account();
    const owner = await a.account();
    const doomed = (await user.chain.createNameContract('gapdoomed')).contractId;
    const first = new Indexer({ chainUrls: [a.chainUrl], port: 0, dataDir: dir, log: silentLogger() });
    cleanup(() => first.close());
    let ix = first;
    let url = await ix.start();
    await synced(a, ix);
    const seen = (await getJson(`${url}/nodes/${node.nodeId}`)).body.updatedAt;
    assert.ok(seen > 0);

    // The follower's next block waits behind this transaction while the chain moves on and is
    // then restored from disk on the same port: the states of the blocks in between are gone.
    let release = () => {};
    const held = ix.store.transaction(() => new Promise<void>((r) => (release = r)));
    cleanup(() => release()); // before the indexer closes: its follower waits behind this
    const fresh = (await user.chain.createNameContract('gapnew')).contractId;
    await owner.chain.ensureFarm('gapfarm');
    await user.chain.cancelContract(doomed);
    const port = Number(new URL(a.chainUrl).port);
    await a.close();
    const devnet = new Devnet({ port, dev: true, dataDir: chainDir, finalityDelayMs: 0 });
    cleanup(() => devnet.close());
    await devnet.start();
    const client = connectChain({ urls: [a.chainUrl], logger: silentLogger() });
    cleanup(() => client.close());
    await client.start();
    release();
    await held;
    await ix.chain.waitFor(await client.query.finalizedBlockNumber());

    assert.deepEqual((await getJson(`${url}/farms`)).body.map((x: any) => x.name), ['indexerfarm', 'gapfarm'], 'a farm made in the gap');
    assert.deepEqual((await getJson(`${url}/contracts?contract_id=${fresh}`)).body.map((c: any) => c.state), ['Created'], 'a contract made in the gap');
    assert.deepEqual((await getJson(`${url}/contracts?contract_id=${doomed}`)).body.map((c: any) => [c.state, c.details.name]), [['Deleted', 'gapdoomed']], 'a contract cancelled in the gap stays, Deleted');
    const n = (await getJson(`${url}/nodes/${node.nodeId}`)).body;
    assert.equal(n.updatedAt, seen, 'the last uptime report known before the gap is kept');
    assert.equal(n.status, 'up');
    assert.equal(Number((await ix.store.all<{ c: number }>('SELECT COUNT(*) AS c FROM uptime_events'))[0]!.c), 1, 'uptime history kept');

    // Lossless across a restart after the resync: the cursor holds, new blocks are indexed once.
    await ix.close();
    const second = new Indexer({ chainUrls: [a.chainUrl], port: 0, dataDir: dir, log: silentLogger() });
    cleanup(() => second.close());
    ix = second;
    url = await ix.start();
    const alice = client.as(new Keyring({ type: 'sr25519', ss58Format: 42 }).addFromUri('//Alice'));
    const after = (await alice.createNameContract('aftergap')).contractId;
    await ix.chain.waitFor(await client.query.finalizedBlockNumber());
    assert.deepEqual((await getJson(`${url}/contracts?contract_id=${after}`)).body.map((c: any) => c.details.name), ['aftergap']);
    assert.deepEqual((await getJson(`${url}/farms`)).body.map((x: any) => x.name), ['indexerfarm', 'gapfarm']);
    assert.equal((await getJson(`${url}/nodes/${node.nodeId}`)).body.updatedAt, seen);
  });
});
