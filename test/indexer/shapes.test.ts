import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { startChainFixture, synced, type ChainFixture } from './fixtures.ts';

/**
 * The REST answers read through the unmodified official `@threefold/gridproxy_client` 2.9.2 and
 * checked field by field against the interfaces it declares (its .d.ts files, read at test time):
 * every declared field is present with the declared JSON type.
 */
const require = createRequire(import.meta.url);
// The package exports only its entry point (dist/node/public_api.js): its d.ts files sit next to it.
const distDir = dirname(require.resolve('@threefold/gridproxy_client'));
const { default: GridProxyClient } = require('@threefold/gridproxy_client') as { default: new (url: string) => any };

/** `name: type;` fields of `export interface NAME { ... }` in a d.ts of the package. */
function declared(file: string, name: string): Map<string, string> {
  const src = readFileSync(join(distDir, file), 'utf8');
  const m = new RegExp(`export interface ${name} \\{([\\s\\S]*?)\\n\\}`).exec(src);
  assert.ok(m, `${name} in ${file}`);
  const fields = new Map<string, string>();
  let depth = 0;
  for (const line of m[1]!.split('\n')) {
    const f = depth === 0 ? /^\s{4}(\w+)\??: (.+?);?$/.exec(line) : null;
    if (f) fields.set(f[1]!, f[2]!.replace(/;$/, ''));
    depth += (line.match(/\{/g) ?? []).length - (line.match(/\}/g) ?? []).length;
  }
  return fields;
}

const jsonType = (t: string): string | null => {
  if (/^(number|boolean|string)$/.test(t)) return t;
  if (t.endsWith('[]') || t.startsWith('[')) return 'array';
  if (/^(NodeStatus|CertificationType|ContractState|ContractType)$/.test(t)) return 'string';
  return /^[A-Z{]/.test(t) ? 'object' : null;
};

function checkShape(obj: Record<string, unknown>, fields: Map<string, string>, skip: string[], what: string): void {
  for (const [name, type] of fields) {
    if (skip.includes(name)) continue;
    assert.ok(name in obj, `${what}.${name} is missing`);
    const want = jsonType(type);
    const v = obj[name];
    const got = Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v;
    if (want) assert.ok(got === want || (got === 'null' && /Location/.test(what)), `${what}.${name}: ${got}, declared ${type}`);
  }
}

describe('indexer answers through the official gridproxy_client', () => {
  let f: ChainFixture;
  let proxy: any;
  let node: Awaited<ReturnType<ChainFixture['node']>>;
  let user: Awaited<ReturnType<ChainFixture['account']>>;

  before(async () => {
    f = await startChainFixture();
    node = await f.node({ publicIp: true });
    user = await f.account();
    await user.chain.createNodeContract({ nodeId: node.nodeId, hash: 'a'.repeat(32), data: '{"version":3,"type":"vm","name":"x","projectName":"vm/x"}', publicIps: 1 });
    await user.chain.createNameContract('shapes');
    const { indexer, url } = await f.indexer();
    await synced(f, indexer);
    proxy = new GridProxyClient(url);
  });
  after(() => f?.close());

  // Fields the client itself adds (loadFarm/loadTwin/loadStats) or that gridproxy derives from data we do not index.
  const CLIENT_SIDE = ['farm', 'twin', 'stats', 'publicIps', 'region'];

  test('nodes.list and nodes.byId: GridNode', async () => {
    const { data, count } = await proxy.nodes.list({ retCount: true });
    assert.equal(count, 1);
    const fields = declared('modules/gateways.d.ts', 'GridNode');
    checkShape(data[0], fields, CLIENT_SIDE, 'GridNode');
    checkShape(data[0].location, declared('modules/gateways.d.ts', 'Location'), [], 'Location');
    checkShape(data[0].publicConfig, declared('modules/gateways.d.ts', 'PublicConfig'), [], 'PublicConfig');
    for (const r of ['total_resources', 'used_resources']) checkShape(data[0][r], declared('modules/gateways.d.ts', 'Resources'), [], r);
    const one = await proxy.nodes.byId(node.nodeId);
    assert.equal(one.nodeId, node.nodeId);
    assert.ok(one.capacity.total_resources.cru === 4);
  });

  test('farms.list: Farm and PublicIp', async () => {
    const { data } = await proxy.farms.list({ retCount: true });
    checkShape(data[0], declared('modules/farms.d.ts', 'Farm'), [], 'Farm');
    checkShape(data[0].publicIps[0], declared('modules/farms.d.ts', 'PublicIp'), [], 'PublicIp');
  });

  test('contracts.list: Contract and ContractDetails (the overdue/unlock queries grid_client sends)', async () => {
    const { data } = await proxy.contracts.list({ twinId: user.twinId });
    assert.equal(data.length, 2);
    for (const c of data) checkShape(c, declared('modules/contracts.d.ts', 'Contract'), [], 'Contract');
    checkShape(data[0].details, declared('modules/contracts.d.ts', 'ContractDetails'), [], 'ContractDetails');
    const ips = await proxy.contracts.list({ nodeId: node.nodeId, state: ['Created', 'GracePeriod'], numberOfPublicIps: 1 });
    assert.equal(ips.data.length, 1);
  });

  test('twins.list and stats.get', async () => {
    const { data } = await proxy.twins.list({ twinId: user.twinId });
    checkShape(data[0], declared('modules/twins.d.ts', 'Twin'), [], 'Twin');
    const stats = await proxy.stats.get({ status: 'up' });
    checkShape(stats, declared('modules/stats.d.ts', 'Stats'), [], 'Stats');
    assert.equal(stats.nodes, 1);
  });
});
