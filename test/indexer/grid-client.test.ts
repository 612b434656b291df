import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RelayServer } from '../../relay/server.ts';
import { chainTwins } from '../../node/twins.ts';
import { requireHost } from '../helpers/host.ts';
// Loads rmb_direct_client the way our compat tests do (its @noble/hashes v1 import): grid_client then finds it cached.
import { muteClientChatter, withUnverifiedTls } from '../compat/helpers.ts';
import { cannotListen, hasOpenssl, selfSignedCert } from '../helpers/tls.ts';
import { startChainFixture, synced, type ChainFixture } from './fixtures.ts';

/**
 * The unmodified official `GridClient` (@threefold/grid_client 2.9.2, network `dev`) with all
 * five URLs pointed at a local grid: devnet, relay, indexer (REST and GraphQL) and the devnet
 * faucet. It connects and reads nodes, farms, its contracts and networks through the indexer.
 *
 * The RMB client publishes `relayURL` minus the scheme as its twin's relay and tfchain rejects
 * ':' there, so the relay must be wss:// on port 443: it runs on 127.0.0.2 (loopback, root for
 * the port), apart from the compat tests' 127.0.0.1:443.
 */
const RELAY_HOST = '127.0.0.2';

describe('official GridClient against a local grid', () => {
  let f: ChainFixture | null = null;
  let relay: RelayServer | null = null;
  let grid: any = null;
  let tmp = '';
  let skip = '';
  let unmute = () => {};
  let user: Awaited<ReturnType<ChainFixture['account']>>;
  let nodes: Array<Awaited<ReturnType<ChainFixture['node']>>>;
  const contracts: Record<string, number> = {};

  before(async () => {
    if (process.getuid?.() !== 0) skip = 'needs root (relay on port 443)';
    else if (!(await hasOpenssl())) skip = 'openssl is not installed (see .ci/debian-packages)';
    else skip = (await cannotListen(443, RELAY_HOST)) ?? '';
    if (skip) return;
    tmp = await mkdtemp(join(tmpdir(), 'zos-gridclient-'));
    // grid_client keeps its key-value store under the home directory: keep it in the temp dir.
    process.env.HOME = tmp;
    unmute = muteClientChatter();
    f = await startChainFixture({ officialClients: true });
    const tls = await selfSignedCert(tmp);
    relay = new RelayServer({ twins: chainTwins(f.client), domains: [RELAY_HOST], host: RELAY_HOST, port: 443, tls: { cert: tls.cert, key: tls.key }, log: f.log });
    await relay.start();
    nodes = [await f.node({ publicIp: true }), await f.node({ city: 'Cairo' })];
    user = await f.account();
    const c = user.chain;
    const data = (type: string, name: string, project: string) => JSON.stringify({ version: 3, type, name, projectName: project });
    contracts.net = (await c.createNodeContract({ nodeId: nodes[0]!.nodeId, hash: 'n'.repeat(32), data: data('network', 'mynet', '') })).contractId;
    contracts.vm = (await c.createNodeContract({ nodeId: nodes[0]!.nodeId, hash: 'v'.repeat(32), data: data('vm', 'myvm', 'vm/myvm') })).contractId;
    contracts.name = (await c.createNameContract('gcname')).contractId;
    const { indexer, url } = await f.indexer();
    await synced(f, indexer);

    const require = createRequire(import.meta.url);
    const { GridClient } = require('@threefold/grid_client') as { GridClient: new (o: Record<string, unknown>) => any };
    grid = new GridClient({
      network: 'dev',
      mnemonic: user.mnemonic,
      storeSecret: 'indexer-test',
      substrateURL: f.chainUrl,
      relayURL: `wss://${RELAY_HOST}`,
      proxyURL: url,
      graphqlURL: `${url}/graphql`,
      activationURL: f.activationUrl,
    });
    // The relay's certificate is self-signed and the RMB client takes no CA option (see compat/helpers).
    await withUnverifiedTls(() => grid.connect());
  });

  after(async () => {
    await grid?.disconnect?.().catch(() => undefined);
    await relay?.close();
    await f?.close();
    unmute();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const ready = (t: TestContext) => requireHost(t, skip === '', skip);

  test('connect: /version, GraphQL probe, chain twin and relay', (t) => {
    if (!ready(t)) return;
    assert.equal(grid.twinId, user.twinId);
  });

  test('nodes.filter: default status=up, resources, access nodes, farm ids', async (t) => {
    if (!ready(t)) return;
    const ids = (list: any[]) => list.map((n) => n.nodeId).sort();
    assert.deepEqual(ids(await grid.nodes.filter({})), nodes.map((n) => n.nodeId).sort());
    assert.deepEqual(ids(await grid.nodes.filter({ accessNodeV4: true })), [nodes[0]!.nodeId]);
    assert.deepEqual(ids(await grid.nodes.filter({ cru: 2, mru: 4, farmId: f!.farmId, dedicated: false })), [nodes[0]!.nodeId], 'the node without contracts counts as dedicated');
    assert.deepEqual(ids(await grid.nodes.filter({ city: 'Cairo' })), [nodes[1]!.nodeId]);
    assert.deepEqual(await grid.nodes.filter({ mru: 1024 }), []);
    assert.equal(await grid.capacity.getNodesCount({}), 2);
    assert.equal((await grid.nodes.all()).length, 2, 'G2 count, then the pages');
  });

  test('farms: capacity.getFarms / filterFarms / getFarmsCount through the proxy', async (t) => {
    if (!ready(t)) return;
    const all = await grid.capacity.getAllFarms();
    assert.deepEqual(all.map((x: any) => [x.farmId, x.name]), [[f!.farmId, 'indexerfarm']]);
    assert.equal((await grid.capacity.filterFarms({ nodeMRU: 4 })).length, 1);
    assert.equal(await grid.capacity.getFarmsCount({ nodeMRU: 1024 }), 0);
  });

  test('contracts.listMyContracts: G5 counts then G6, ids as strings', async (t) => {
    if (!ready(t)) return;
    const mine = await grid.contracts.listMyContracts();
    assert.deepEqual(mine.nodeContracts.map((c: any) => c.contractID).sort(), [String(contracts.net), String(contracts.vm)].sort());
    assert.deepEqual(mine.nameContracts.map((c: any) => [c.contractID, c.name]), [[String(contracts.name), 'gcname']]);
    assert.deepEqual(mine.rentContracts, []);
    const vm = mine.nodeContracts.find((c: any) => c.contractID === String(contracts.vm));
    assert.equal(vm.nodeID, nodes[0]!.nodeId);
    assert.equal(vm.state, 'Created');
  });

  test('networks.list and machines.list: G7 by deployment type', async (t) => {
    if (!ready(t)) return;
    assert.deepEqual(await grid.networks.list(), ['mynet']);
    assert.deepEqual(await grid.machines.list(), ['myvm']);
  });
});
