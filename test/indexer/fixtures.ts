import type { TestContext } from 'node:test';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady, mnemonicGenerate } from '@polkadot/util-crypto';
import { Devnet } from '../../chain/devnet/devnet.ts';
import { connectChain, type AccountClient, type ChainClient, type KeyringPair } from '../../chain/client/index.ts';
import { Indexer } from '../../indexer/indexer.ts';
import { LOCK_WRITER } from '../../indexer/store/postgres.ts';
import type { Sql } from '../../indexer/store/sql.ts';
import { createLogger, silentLogger, type Logger } from '../../lib/log.ts';

/**
 * A devnet with real chain entities for indexer tests: //Alice's farm (with two public IPs),
 * nodes registered by their own accounts the way `zos node` registers (T&C, twin, node,
 * uptime), users funded by the faucet. No node process: only the chain side matters here.
 */
export interface ChainFixture {
  devnet: Devnet;
  chainUrl: string;
  activationUrl: string;
  client: ChainClient;
  farmer: AccountClient;
  farmId: number;
  log: Logger;
  account(): Promise<{ pair: KeyringPair; mnemonic: string; chain: AccountClient; twinId: number }>;
  node(opts?: { city?: string; country?: string; mru?: number; publicIp?: boolean }): Promise<{ nodeId: number; twinId: number; chain: AccountClient; pair: KeyringPair }>;
  /** Starts an indexer on this chain (port 0); closed with the fixture. */
  indexer(opts?: { dataDir?: string; db?: string; kycVerified?: string[] | null; tls?: { cert: Buffer; key: Buffer } }): Promise<{ indexer: Indexer; url: string }>;
  close(): Promise<void>;
}

export const GIB = 1024 ** 3;
export const FARM_IPS = [
  { ip: '185.206.122.33/24', gw: '185.206.122.1' },
  { ip: '185.206.122.34/24', gw: '185.206.122.1' },
];

/**
 * `officialClients`: keep the devnet's default delay between inBlock and finalized, which the
 * official tfchain_client needs (it waits for inBlock, see chain/devnet); our client does not.
 */
export async function startChainFixture(o: { chainDataDir?: string; officialClients?: boolean } = {}): Promise<ChainFixture> {
  await cryptoWaitReady();
  const log = process.env.ZOS_TEST_LOGS ? createLogger({ pretty: false, level: 'debug' }) : silentLogger();
  const devnet = new Devnet({ port: 0, dev: true, finalityDelayMs: o.officialClients ? undefined : 0, dataDir: o.chainDataDir, logger: log.child({ c: 'devnet' }) });
  const chainUrl = await devnet.start();
  const activationUrl = chainUrl.replace(/^ws/, 'http') + '/activation/activate';
  const client = connectChain({ urls: [chainUrl], logger: log.child({ c: 'client' }) });
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  const farmer = client.as(keyring.addFromUri('//Alice'));
  let farmId: number;
  try {
    await client.start();
    await farmer.ensureTermsAccepted();
    await farmer.ensureTwin({ relay: null, pk: null });
    ({ farmId } = await farmer.ensureFarm('indexerfarm', FARM_IPS));
  } catch (err) {
    // Nobody holds the fixture yet to close it: a failed setup must not leave the devnet open.
    await client.close();
    await devnet.close();
    throw err;
  }
  const indexers: Indexer[] = [];
  let closed: Promise<void> | null = null;

  async function account() {
    const mnemonic = mnemonicGenerate();
    const pair = keyring.addFromMnemonic(mnemonic);
    const res = await fetch(activationUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ substrateAccountID: pair.address }) });
    if (!res.ok) throw new Error(`faucet: ${res.status}`);
    for (let i = 0; (await client.query.balance(pair.address)).free === 0n; i++) {
      if (i > 100) throw new Error('account not funded');
      await new Promise((r) => setTimeout(r, 50));
    }
    const chain = client.as(pair);
    await chain.ensureTermsAccepted();
    const { twinId } = await chain.ensureTwin({ relay: ['127.0.0.1'], pk: null });
    return { pair, mnemonic, chain, twinId };
  }

  async function node(o: { city?: string; country?: string; mru?: number; publicIp?: boolean } = {}) {
    const a = await account();
    const { nodeId } = await a.chain.ensureNode({
      farmId,
      resources: { hru: 0, sru: 512 * GIB, cru: 4, mru: o.mru ?? 16 * GIB },
      location: { city: o.city ?? 'Ghent', country: o.country ?? 'Belgium', latitude: '51.05', longitude: '3.72' },
      interfaces: [],
      secureBoot: false,
      virtualized: true,
      serialNumber: null,
    });
    if (o.publicIp) {
      await farmer.addNodePublicConfig(farmId, nodeId, { ip4: { ip: '185.206.122.40/24', gw: '185.206.122.1' }, ip6: { ip: '2a02:1802:5e::40/64', gw: '2a02:1802:5e::1' }, domain: 'gw.example.org' });
    }
    await a.chain.reportUptime(60);
    return { nodeId, twinId: a.twinId, chain: a.chain, pair: a.pair };
  }

  async function indexer(o: { dataDir?: string; db?: string; kycVerified?: string[] | null; tls?: { cert: Buffer; key: Buffer } } = {}) {
    // ZOS_TEST_INDEXER_DB runs the indexer tests on a PostgreSQL store instead (a check by hand; CI runs postgres.test.ts).
    const db = o.db ?? (o.dataDir ? undefined : process.env.ZOS_TEST_INDEXER_DB);
    const ix = new Indexer({ chainUrls: [chainUrl], port: 0, dataDir: o.dataDir ?? null, db, kycVerified: o.kycVerified, tls: o.tls, log: log.child({ c: 'indexer' }) });
    indexers.push(ix);
    const url = await ix.start();
    return { indexer: ix, url };
  }

  return {
    devnet, chainUrl, activationUrl, client, farmer, farmId, log, account, node, indexer,
    close() {
      // Once: a test closes its chain midway and its cleanup closes it again.
      closed ??= (async () => {
        await Promise.all(indexers.map((i) => i.close()));
        await client.close();
        await devnet.close();
      })();
      return closed;
    },
  };
}

/** Waits until the indexer has stored the chain's current finalized head. */
export async function synced(f: ChainFixture, ix: Indexer): Promise<void> {
  const head = await f.client.query.finalizedBlockNumber();
  await ix.chain.waitFor(head);
}

export async function getJson(url: string): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json(), headers: res.headers };
}

export async function gql(url: string, query: string, variables: Record<string, unknown> = {}): Promise<any> {
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  return { status: res.status, ...(await res.json()) };
}

/**
 * What one test opened, closed after it whether it passed or threw, last opened first: a failed
 * assertion must fail the test, not hang the file on a server or connection left open. One
 * cleanup that throws does not keep the others from running.
 */
export function cleanups(t: TestContext): (...fns: Array<() => unknown>) => void {
  const fns: Array<() => unknown> = [];
  t.after(async () => {
    const errors: unknown[] = [];
    for (const fn of fns.reverse()) {
      try {
        await fn();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length) throw new AggregateError(errors, 'test cleanup failed');
  });
  return (...more) => void fns.push(...more);
}

/**
 * The server process of the PostgreSQL session that holds the indexer's writer lock (a session
 * advisory lock on a bigint key: classid 0, objid the key, objsubid 1; advisory locks are per
 * database). `sql` is any connection to the same database.
 */
export async function writerSessionPid(sql: Sql): Promise<number> {
  const rows = await sql.all<{ pid: number }>(
    `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid::bigint = ? AND objsubid = 1 AND granted
       AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [LOCK_WRITER],
  );
  if (rows.length !== 1) throw new Error(`not one session holding the writer lock: ${JSON.stringify(rows)}`);
  return rows[0]!.pid;
}

/** Ends that session on the server: what a dropped connection does to the process holding the lock. */
export async function dropWriterSession(sql: Sql): Promise<void> {
  const [r] = await sql.all<{ ok: boolean }>('SELECT pg_terminate_backend(?) AS ok', [await writerSessionPid(sql)]);
  if (r?.ok !== true) throw new Error('pg_terminate_backend failed');
}
