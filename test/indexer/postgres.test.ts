import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import pgLib from 'pg';
import type { Indexer } from '../../indexer/indexer.ts';
import { readCursor } from '../../indexer/follower.ts';
import { LOCK_WRITER, PostgresSql } from '../../indexer/store/postgres.ts';
import { setFailpoints } from '../../lib/failpoints.ts';
import { requireHost } from '../helpers/host.ts';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { once } from 'node:events';
import { waitFor, within } from '../helpers/grid.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { dropWriterSession, getJson, gql, startChainFixture, synced, writerSessionPid, type ChainFixture } from './fixtures.ts';

/**
 * `zos indexer --db postgres://...`: a store shared by two indexer processes (here two Indexer
 * instances, each with its own connection pool, as two processes have) on a real PostgreSQL
 * started in a temp dir. One follows the chain, the other stands by and serves the same
 * answers; nothing is indexed twice; when the follower goes the other takes over. Every
 * answer equals the embedded SQLite store's for the same chain.
 */
const md5 = (s: string) => createHash('md5').update(s).digest('hex');

describe('indexer on PostgreSQL', () => {
  let skip: string | null = null;
  let pg: TestPostgres | null = null;
  let f: ChainFixture;
  let first: { indexer: Indexer; url: string };
  let second: { indexer: Indexer; url: string };
  let sqlite: { indexer: Indexer; url: string };
  let node: Awaited<ReturnType<ChainFixture['node']>>;
  let user: Awaited<ReturnType<ChainFixture['account']>>;

  before(async () => {
    skip = await postgresUnavailable();
    if (skip) return;
    pg = await startPostgres();
    f = await startChainFixture();
    node = await f.node({ publicIp: true });
    await f.node({ city: 'Cairo' });
    user = await f.account();
    const data = (type: string, name: string) => JSON.stringify({ version: 3, type, name, projectName: type === 'vm' ? `vm/${name}` : '' });
    await user.chain.createNodeContract({ nodeId: node.nodeId, hash: md5('net'), data: data('network', 'pgnet') });
    await user.chain.createNodeContract({ nodeId: node.nodeId, hash: md5('vm'), data: data('vm', 'pgvm') });
    await user.chain.createNameContract('pgname');
    first = await f.indexer({ db: pg.url });
    second = await f.indexer({ db: pg.url });
    sqlite = await f.indexer();
    await synced(f, first.indexer);
    await synced(f, sqlite.indexer);
  });
  after(async () => {
    await f?.close();
    await pg?.close();
  });

  const ready = (t: TestContext) => requireHost(t, skip === null, skip ?? '');
  const uptimeRows = async () => Number((await first.indexer.store.all<{ c: number }>('SELECT COUNT(*) AS c FROM uptime_events'))[0]!.c);

  test('one process follows, the other stands by; both answer from the shared store', async (t) => {
    if (!ready(t)) return;
    assert.equal(first.indexer.store.kind, 'postgres');
    assert.equal(second.indexer.chain.last, null, 'the second process does not follow while the first does');
    assert.equal(await uptimeRows(), 2, 'each uptime report stored once');
    const nodes = (await getJson(`${second.url}/nodes`)).body;
    assert.deepEqual(nodes.map((n: any) => n.nodeId), [node.nodeId, node.nodeId + 1]);
    assert.deepEqual((await getJson(`${first.url}/nodes`)).body, nodes);
  });

  test('REST and GraphQL answers equal the SQLite store’s, field by field', async (t) => {
    if (!ready(t)) return;
    const t0 = user.twinId;
    const paths = [
      '/nodes?status=up&sort_by=free_cru&sort_order=desc&features=', `/nodes/${node.nodeId}`, '/nodes?ipv4=true&ipv6=true&page=1',
      '/nodes?city=cairo&ret_count=true', '/nodes?free_mru=1073741824&dedicated=false', '/farms', '/farms?node_free_mru=1&free_ips=1',
      `/contracts?twin_id=${t0}`, `/contracts?twin_id=${t0}&type=node&state=created`, '/twins', '/stats', '/gateways',
    ];
    for (const p of paths) {
      const [a, b] = [await getJson(`${first.url}${p}`), await getJson(`${sqlite.url}${p}`)];
      assert.equal(a.status, b.status, p);
      assert.deepEqual(a.body, b.body, p);
      assert.equal(a.headers.get('count'), b.headers.get('count'), `${p} count header`);
    }
    const queries = [
      ['query getNodeTwinId($nodeId: Int!){ nodes(where: { nodeID_eq: $nodeId }) { twinID } }', { nodeId: node.nodeId }],
      ['query { items: nodesConnection(orderBy: nodeID_ASC){count: totalCount} }', {}],
      [`query { items: nodeContractsConnection(where: {twinID_eq: ${t0}, state_in: [Created, GracePeriod]}, orderBy: twinID_ASC){count: totalCount} }`, {}],
      [`query getContracts($nodeContractsCount: Int!){ nodeContracts(where: {twinID_eq: ${t0}, state_in: [Created, GracePeriod] , AND: [{ deploymentData_contains: "\\"type\\":\\"vm\\"" },{ deploymentData_contains: "\\"projectName\\":\\"vm/pgvm" }]}, limit: $nodeContractsCount){contractID deploymentData state createdAt nodeID numberOfPublicIPs} }`, { nodeContractsCount: 5 }],
      ['query { farms(orderBy: farmID_ASC) { farmID name certification publicIPs { ip contractId } } nameContracts { contractID name state } }', {}],
      ['query { nodes(where: { city_endsWith: "iro" }) { nodeID city } twins(where: { relay_startsWith: "127" }, orderBy: twinID_DESC, limit: 2) { twinID } }', {}],
    ] as const;
    for (const [q, v] of queries) {
      const [a, b] = [await gql(first.url, q, v), await gql(sqlite.url, q, v)];
      assert.equal(a.errors, undefined, q);
      assert.deepEqual(a, b, q);
    }
  });

  test('when the following process goes, the standby takes over and goes on from the stored cursor', async (t) => {
    if (!ready(t)) return;
    await first.indexer.close();
    await node.chain.reportUptime(120);
    const after = (await user.chain.createNameContract('pgafter')).contractId;
    await synced(f, second.indexer);
    assert.deepEqual((await getJson(`${second.url}/contracts?contract_id=${after}`)).body.map((c: any) => c.details.name), ['pgafter']);
    assert.equal((await getJson(`${second.url}/nodes/${node.nodeId}`)).body.uptime, 120);
    assert.equal(Number((await second.indexer.store.all<{ c: number }>('SELECT COUNT(*) AS c FROM uptime_events'))[0]!.c), 3, 'no report lost or stored twice');
  });

  test('a follower whose database connection drops stops at once; it follows again only once it holds the lock again', async (t) => {
    if (!ready(t)) return;
    const third = await f.indexer({ db: pg!.url });
    const [was, standby] = [second.indexer.chain, third.indexer.chain];
    assert.deepEqual([was.following, standby.following], [true, false]);
    let stray = 0;
    for (const c of [was, standby]) c.on('block', () => void (c.following || stray++));
    const stopped = once(was, 'following');
    await dropWriterSession(third.indexer.store);
    assert.deepEqual(await stopped, [false], 'the process that lost the lock says so');
    // Whichever takes the lock next (the dropped one asks again too) follows; never both.
    await waitFor(() => was.following || standby.following, 'a process follows again', 30_000, 100);
    assert.ok(!(was.following && standby.following), 'one follower at a time');
    const now = was.following ? second : third;
    // Chain time has run ahead of the clock by now (instant seal): no uptime report, a name contract.
    const made = (await user.chain.createNameContract('pgdropped')).contractId;
    await synced(f, now.indexer);
    assert.deepEqual((await getJson(`${third.url}/contracts?contract_id=${made}`)).body.map((c: any) => c.details.name), ['pgdropped']);

    // A session that stops answering without closing (a frozen server process, a half-open
    // connection): the holder's check of its lock connection goes unanswered and it lets go.
    const holder = now.indexer.chain;
    const pid = await writerSessionPid(third.indexer.store);
    process.kill(pid, 'SIGSTOP');
    try {
      const [following] = await Promise.race([once(holder, 'following'), sleep(20_000).then(() => ['still following'])]);
      assert.equal(following, false, 'the holder whose lock session froze let it go');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await waitFor(() => was.following || standby.following, 'a process follows after the frozen session', 30_000, 100);
    const later = (await user.chain.createNameContract('pgfrozen')).contractId;
    await synced(f, (was.following ? second : third).indexer);
    assert.equal((await getJson(`${second.url}/contracts?contract_id=${later}`)).body.length, 1);
    assert.equal(stray, 0, 'no block stored by a process without the lock');
  });

  test('a lock lost during the start-up reconcile commits nothing of it; the process stands by, then reconciles once it holds the lock again', async (t) => {
    if (!ready(t)) return;
    // A new database: the process's reconcile writes the genesis state and the cursor in one transaction.
    await second.indexer.store.run('CREATE DATABASE lost_reconcile');
    const url = pg!.url.replace('/postgres?', '/lost_reconcile?');
    const probe = new PostgresSql(url);
    const rival = new pgLib.Client({ connectionString: url });
    await rival.connect();
    t.after(async () => {
      setFailpoints(undefined);
      await rival.end().catch(() => undefined);
      await probe.close();
    });
    setFailpoints('indexer.reconcile.commit=sleep(3000)');
    const starting = f.indexer({ db: url });
    // The writer lock is held and a transaction sits open (the fail point holds it before COMMIT).
    const openTx = async () => (await probe.all<{ c: number }>(
      `SELECT COUNT(*) AS c FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction' AND now() - state_change > interval '300 ms'
         AND EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid::bigint = ? AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))`,
      [LOCK_WRITER],
    ))[0]!.c > 0;
    await waitFor(openTx, 'the reconcile transaction, written and not committed', 60_000, 50);
    // Its lock session ends (a dropped connection) and another process takes the lock at once.
    const [killed] = await probe.all<{ ok: boolean }>('SELECT pg_terminate_backend(?) AS ok', [await writerSessionPid(probe)]);
    assert.equal(killed?.ok, true);
    await rival.query('SELECT pg_advisory_lock($1)', [LOCK_WRITER]);
    setFailpoints('');
    const loser = await starting;
    assert.equal(loser.indexer.chain.following, false, 'the process that lost the lock stands by');
    assert.equal(await openTx(), false, 'its transaction ended');
    assert.equal(await readCursor(probe), null, 'no cursor committed by the loser');
    const count = async (table: string) => Number((await probe.all<{ c: number }>(`SELECT COUNT(*) AS c FROM ${table}`))[0]!.c);
    assert.deepEqual([await count('nodes'), await count('farms'), await count('twins')], [0, 0, 0], 'nor any of the genesis state');

    await rival.end(); // the rival goes without writing: the loser takes the lock again and reconciles
    await waitFor(() => loser.indexer.chain.following, 'the loser follows again', 30_000, 100);
    await synced(f, loser.indexer);
    assert.ok((await readCursor(probe))!.block > 0);
    assert.deepEqual(
      (await getJson(`${loser.url}/nodes?sort_by=node_id`)).body.map((n: any) => n.nodeId),
      (await getJson(`${second.url}/nodes?sort_by=node_id`)).body.map((n: any) => n.nodeId),
    );
  });

  test('a lock lost while the process that just took it reconciles (writing nothing) stops it following at once, with no block to come', async (t) => {
    if (!ready(t)) return;
    // A store of its own, synced: a later reconcile finds it current and writes nothing.
    await second.indexer.store.run('CREATE DATABASE lost_begin');
    const x = await f.indexer({ db: pg!.url.replace('/postgres?', '/lost_begin?') });
    t.after(() => setFailpoints(undefined));
    await within(synced(f, x.indexer), 30_000, 'the new store synced');
    assert.equal(x.indexer.chain.following, true);
    setFailpoints('indexer.begin.reconciled=sleep(2000)');
    const next = () => once(x.indexer.chain, 'following');
    let changed = next();
    await dropWriterSession(x.indexer.store);
    assert.deepEqual(await within(changed, 20_000, 'the first drop seen'), [false]);
    // It asks again, holds the lock and reconciles; meanwhile that lock goes too. The devnet seals no
    // block unless asked, so only the lost lock itself can stop it (it waited for a block forever before).
    changed = next();
    assert.deepEqual(await within(changed, 20_000, 'the lock taken again'), [true]);
    changed = next();
    await dropWriterSession(x.indexer.store);
    assert.deepEqual(await within(changed, 10_000, 'the process that lost its lock in begin() to stop following'), [false]);
    setFailpoints('');
    await waitFor(() => x.indexer.chain.following, 'it follows again once it holds the lock', 30_000, 100);
  });
});
