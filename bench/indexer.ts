/**
 * The indexer under load. (1) 10 000 nodes (50 farms, 20 000 node contracts with reported
 * resources) applied through the event mapping into a SQLite store, then p50/p99 of `/nodes`
 * with grid_client's filter, a `/nodes` page and GraphQL node queries, next to `/version` and
 * `{ __typename }` on the same server (the HTTP/GraphQL floor). (2) Indexing lag: a devnet and a
 * following indexer under a stream of contract-creating transactions; lag = time from the
 * bench seeing a finalized head to the indexer having committed that block.
 * Run: node --import tsx bench/indexer.ts [--nodes N] [--contracts N]
 */
import { cpus, loadavg } from 'node:os';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady, mnemonicGenerate } from '@polkadot/util-crypto';
import { Devnet } from '../chain/devnet/index.ts';
import { connectChain, type Contract, type Farm, type Node, type PricingPolicy } from '../chain/client/index.ts';
import { Indexer, openStore } from '../indexer/indexer.ts';
import { Kyc } from '../indexer/kyc.ts';
import { IndexerServer } from '../indexer/server.ts';
import { applyEvent } from '../indexer/store/apply.ts';
import type { IndexerEvent } from '../indexer/events.ts';
import { silentLogger } from '../lib/log.ts';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const NODES = arg('--nodes', 10_000);
const CONTRACTS = arg('--contracts', 200);
const FARMS = 50;
const GIB = 1024 ** 3;
const QUERIES = 300;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const ms = (v: number) => `${v.toFixed(2)} ms`;

async function latencies(n: number, fn: (i: number) => Promise<unknown>): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < 20; i++) await fn(i);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    out.push(performance.now() - t);
  }
  out.sort((a, b) => a - b);
  return { p50: percentile(out, 50), p99: percentile(out, 99) };
}

/** The policy every farm names (its genesis pricing policy on a real chain): nodes get their price_usd from it. */
const gb = (value: number) => ({ value, unit: 'Gigabytes' as const });
const PRICING_POLICY: PricingPolicy = {
  version: 1, id: 1, name: 'threefold_default_pricing_policy', su: gb(50_000), cu: gb(100_000), nu: gb(15_000), ipu: gb(40_000),
  uniqueName: gb(2500), domainName: gb(5000), foundationAccount: new Uint8Array(32), certifiedSalesAccount: new Uint8Array(32), discountForDedicationNodes: 50,
};
function farm(id: number): Farm {
  return { version: 4, id, name: `farm${id}`, twinId: id, pricingPolicyId: 1, certification: 'NotCertified', dedicatedFarm: false, farmingPolicyLimits: null,
    publicIps: [{ ip: `185.206.${id}.10/24`, gateway: `185.206.${id}.1`, contractId: 0 }] };
}
function node(id: number): Node {
  return {
    version: 5, id, farmId: (id % FARMS) + 1, twinId: 1000 + id, created: 1_700_000_000, farmingPolicyId: 1, interfaces: [], certification: 'Diy',
    secureBoot: false, virtualized: false, serialNumber: null, connectionPrice: 80,
    resources: { hru: 0, sru: (512 + (id % 7) * 256) * GIB, cru: 4 + (id % 12), mru: (8 + (id % 9) * 8) * GIB },
    location: { city: `city${id % 100}`, country: ['Belgium', 'Egypt', 'Germany', 'Japan'][id % 4]!, latitude: '51.05', longitude: '3.72' },
    publicConfig: id % 10 === 0 ? { ip4: { ip: `185.206.1.${id % 250}/24`, gw: '185.206.1.1' }, ip6: null, domain: null } : null,
  };
}
function contract(id: number): Contract {
  return { version: 4, contractId: id, twinId: 5000 + (id % 300), solutionProviderId: null, state: { kind: 'Created' },
    contractType: { kind: 'NodeContract', nodeId: (id % NODES) + 1, deploymentHash: 'a'.repeat(32), deploymentData: '{"version":3,"type":"vm","name":"x","projectName":"vm/x"}', publicIps: 0, publicIpsList: [] } };
}

async function queries(): Promise<Array<[string, number, number]>> {
  const sql = await openStore({ dataDir: null });
  const now = Math.floor(Date.now() / 1000);
  const t0 = performance.now();
  let events = 0;
  await sql.transaction(async (tx) => {
    const put = (e: IndexerEvent, block: number) => applyEvent(tx, e, { block, blockHash: '0x1234567890', index: events++, at: now });
    await put({ kind: 'PricingPolicyStored', policy: PRICING_POLICY }, 0);
    for (let f = 1; f <= FARMS; f++) await put({ kind: 'FarmStored', farm: farm(f) }, 1);
    for (let n = 1; n <= NODES; n++) await put({ kind: 'NodeStored', node: node(n) }, 2);
    for (let c = 1; c <= 2 * NODES; c++) {
      await put({ kind: 'ContractCreated', contract: contract(c) }, 3);
      await put({ kind: 'UpdatedUsedResources', contractId: c, used: { cru: 1, sru: 10 * GIB, hru: 0, mru: 2 * GIB } }, 3);
    }
  });
  const applyS = (performance.now() - t0) / 1000;
  console.log(`store: ${NODES} nodes, ${FARMS} farms, ${2 * NODES} node contracts = ${events} events applied in ${applyS.toFixed(1)} s (${(events / applyS).toFixed(0)} events/s)`);

  const server = new IndexerServer({ sql, host: '127.0.0.1', port: 0, version: 'bench', kyc: new Kyc(null, async () => null), log: silentLogger() });
  const url = await server.start();
  const get = async (path: string) => {
    const r = await fetch(url + path);
    if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
    return r.json();
  };
  const gql = async (query: string) => {
    const r = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
    const body = (await r.json()) as { errors?: unknown };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body;
  };
  const out: Array<[string, number, number]> = [];
  const run = async (name: string, fn: (i: number) => Promise<unknown>) => {
    const l = await latencies(QUERIES, fn);
    console.log(`${name.padEnd(64)} p50 ${ms(l.p50)}  p99 ${ms(l.p99)}`);
    out.push([name, l.p50, l.p99]);
  };
  try {
    await run('GET /version (HTTP floor)', () => get('/version'));
    await run('GET /nodes?<grid_client filter: status, free_*, sort free_cru, ret_count>', (i) =>
      get(`/nodes?total_cru=${2 + (i % 4)}&free_mru=${4 * GIB}&free_sru=${50 * GIB}&status=up&sort_by=free_cru&sort_order=desc&features=&ret_count=true&page=1`));
    await run('GET /nodes (first page, node_id order)', () => get('/nodes'));
    await run('GET /nodes?available_for=T&farm_ids=...&size=50', (i) => get(`/nodes?available_for=${5000 + (i % 300)}&farm_ids=1,2,3,4,5&size=50`));
    await run('GET /nodes/{id}', (i) => get(`/nodes/${(i * 37) % NODES + 1}`));
    await run('GraphQL { __typename } (GraphQL floor)', () => gql('query { __typename }'));
    await run('GraphQL G1 nodes(where:{nodeID_eq}){twinID}', (i) => gql(`query { nodes(where: {nodeID_eq: ${(i * 37) % NODES + 1}}) { twinID } }`));
    await run('GraphQL G2 nodesConnection{totalCount}', () => gql('query { items: nodesConnection(orderBy: nodeID_ASC) { count: totalCount } }'));
    await run('GraphQL nodes(limit: 50, orderBy) with nested objects', (i) =>
      gql(`query { nodes(limit: 50, offset: ${(i * 50) % NODES}, orderBy: nodeID_ASC) { nodeID twinID farmID country resourcesTotal { cru mru } publicConfig { ipv4 } } }`));
  } finally {
    await server.close();
    await sql.close();
  }
  return out;
}

async function lag(): Promise<{ p50: number; p99: number; blocks: number; contracts: number; seconds: number }> {
  await cryptoWaitReady();
  const devnet = new Devnet({ port: 0, dev: true, finalityDelayMs: 0 });
  const chainUrl = await devnet.start();
  const client = connectChain({ urls: [chainUrl], logger: silentLogger() });
  await client.start();
  const ix = new Indexer({ chainUrls: [chainUrl], port: 0, log: silentLogger() });
  try {
    const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
    const alice = client.as(keyring.addFromUri('//Alice'));
    await alice.ensureTermsAccepted();
    await alice.ensureTwin({ relay: null, pk: null });
    const { farmId } = await alice.ensureFarm('benchfarm');
    const nodeKey = keyring.addFromMnemonic(mnemonicGenerate());
    const activation = chainUrl.replace(/^ws/, 'http') + '/activation/activate';
    const users = [nodeKey, ...Array.from({ length: 4 }, () => keyring.addFromMnemonic(mnemonicGenerate()))];
    for (const u of users) await fetch(activation, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ substrateAccountID: u.address }) });
    while ((await Promise.all(users.map((u) => client.query.balance(u.address)))).some((b) => b.free === 0n)) await new Promise((r) => setTimeout(r, 100));
    const nodeAcc = client.as(nodeKey);
    await nodeAcc.ensureTermsAccepted();
    await nodeAcc.ensureTwin({ relay: null, pk: null });
    const { nodeId } = await nodeAcc.ensureNode({ farmId, resources: { hru: 0, sru: 512 * GIB, cru: 8, mru: 32 * GIB }, location: { city: 'Ghent', country: 'Belgium', latitude: '51', longitude: '3' }, interfaces: [], secureBoot: false, virtualized: false, serialNumber: null });
    const accounts = await Promise.all(users.slice(1).map(async (u) => {
      const a = client.as(u);
      await a.ensureTermsAccepted();
      await a.ensureTwin({ relay: null, pk: null });
      return a;
    }));
    await ix.start();

    const seen = new Map<number, number>();
    const stored = new Map<number, number>();
    const { rpc } = await client.connection();
    const unsub = await rpc.subscribe('chain_subscribeFinalizedHeads', [], 'chain_unsubscribeFinalizedHeads', (h) => {
      const n = Number((h as { number: string }).number);
      if (!seen.has(n)) seen.set(n, performance.now());
    }, () => {});
    ix.chain.on('block', (c) => stored.set(c.block, performance.now()));
    const t0 = performance.now();
    let next = 0;
    await Promise.all(accounts.map(async (a, w) => {
      for (let i = next++; i < CONTRACTS; i = next++) {
        await a.createNodeContract({ nodeId, hash: `${w}`.padStart(4, '0') + String(i).padStart(28, '0'), data: '{"version":3,"type":"vm","name":"b","projectName":"vm/b"}' });
      }
    }));
    const seconds = (performance.now() - t0) / 1000;
    const head = await client.query.finalizedBlockNumber();
    await ix.chain.waitFor(head);
    unsub();
    const lags = [...seen].filter(([n, at]) => stored.has(n) && at >= t0).map(([n, at]) => stored.get(n)! - at).sort((a, b) => a - b);
    const [count] = await ix.store.all<{ c: number }>('SELECT COUNT(*) AS c FROM node_contracts');
    if (Number(count!.c) !== CONTRACTS) throw new Error(`indexed ${count!.c} contracts, created ${CONTRACTS}`);
    return { p50: percentile(lags, 50), p99: percentile(lags, 99), blocks: lags.length, contracts: CONTRACTS, seconds };
  } finally {
    await ix.close();
    await client.close();
    await devnet.close();
  }
}

console.log(`host: ${cpus().length} cpus, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const q = await queries();
const l = await lag();
console.log(`indexing lag under ${l.contracts} contract-creating txs from 4 accounts (${(l.contracts / l.seconds).toFixed(0)} tx/s, ${l.blocks} blocks): p50 ${ms(l.p50)}  p99 ${ms(l.p99)}`);

const find = (prefix: string) => q.find(([n]) => n.startsWith(prefix))!;
const http = find('GET /version');
const filter = find('GET /nodes?<grid_client');
const g0 = find('GraphQL { __typename }');
const g1 = find('GraphQL G1');
// Goals: a grid_client node filter over 10 000 nodes within 25x the bare HTTP round trip (and under 100 ms at p99),
// a GraphQL node lookup within 3x the GraphQL floor, and the indexer a block behind the chain by under 250 ms at p99.
const checks: Array<[string, number, number]> = [
  ['/nodes filter p99 vs /version p99', filter[2] / http[2], 25],
  ['/nodes filter p99 ms / 100', filter[2] / 100, 1],
  ['G1 p99 vs __typename p99', g1[2] / g0[2], 3],
  ['lag p99 ms / 250', l.p99 / 250, 1],
];
console.log(`RESULT indexer: ${checks.map(([name, ratio, goal]) => `${name}: ${ratio.toFixed(2)} (goal <= ${goal}) ${ratio <= goal ? 'PASS' : 'MISS'}`).join(' | ')}`);
