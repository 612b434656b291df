import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { gql, startChainFixture, synced, type ChainFixture } from './fixtures.ts';

/**
 * GraphQL with grid_client's own query strings (indexer-apis §3.1 G0-G9, verbatim shapes:
 * aliases, unquoted enums, the trailing comma, BigInt as strings) over chain-made entities.
 */
const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const S = '[Created, GracePeriod]';
const vmData = (name: string, project = `vm/${name}`) => JSON.stringify({ version: 3, type: 'vm', name, projectName: project });
const netData = (name: string) => JSON.stringify({ version: 3, type: 'network', name, projectName: '' });
const lightData = (name: string) => JSON.stringify({ version: 4, type: 'network-light', name, projectName: '' });

describe('indexer GraphQL', () => {
  let f: ChainFixture;
  let url: string;
  let node: Awaited<ReturnType<ChainFixture['node']>>;
  let user: Awaited<ReturnType<ChainFixture['account']>>;
  const ids: Record<string, number> = {};

  before(async () => {
    f = await startChainFixture();
    node = await f.node();
    user = await f.account();
    ids.vm1 = (await user.chain.createNodeContract({ nodeId: node.nodeId, hash: md5('vm1'), data: vmData('vm1') })).contractId;
    ids.net = (await user.chain.createNodeContract({ nodeId: node.nodeId, hash: md5('net'), data: netData('net1') })).contractId;
    ids.light = (await user.chain.createNodeContract({ nodeId: node.nodeId, hash: md5('light'), data: lightData('net2') })).contractId;
    ids.gone = (await user.chain.createNodeContract({ nodeId: node.nodeId, hash: md5('gone'), data: vmData('gone') })).contractId;
    ids.name = (await user.chain.createNameContract('gqlname')).contractId;
    await user.chain.cancelContract(ids.gone);
    const started = await f.indexer();
    url = started.url;
    await synced(f, started.indexer);
  });
  after(() => f?.close());

  test('G0: connect probe', async () => {
    const r = await gql(url, 'query { __typename }');
    assert.equal(r.status, 200);
    assert.deepEqual(r.data, { __typename: 'Query' });
  });

  test('G1: a node twin id by node id (Int variable), [] for an unknown node', async () => {
    const q = 'query getNodeTwinId($nodeId: Int!){ nodes(where: { nodeID_eq: $nodeId }) { twinID } }';
    assert.deepEqual((await gql(url, q, { nodeId: node.nodeId })).data, { nodes: [{ twinID: node.twinId }] });
    assert.deepEqual((await gql(url, q, { nodeId: 999 })).data, { nodes: [] });
  });

  test('G2-G4: connection counts with aliases', async () => {
    assert.deepEqual((await gql(url, 'query { items: nodesConnection(orderBy: nodeID_ASC){count: totalCount} }')).data, { items: { count: 1 } });
    assert.deepEqual((await gql(url, `query { items: nodesConnection(where: {farmID_eq: ${f.farmId}}, orderBy: nodeID_ASC){count: totalCount} }`)).data, {
      items: { count: 1 },
    });
    assert.deepEqual((await gql(url, 'query { items: farmsConnection(orderBy: farmID_ASC){count: totalCount} }')).data, { items: { count: 1 } });
  });

  test('G5 + G6: listMyContracts (BigInt contractID as string, numbers for ids)', async () => {
    const t = user.twinId;
    const count = async (x: string) =>
      (await gql(url, `query { items: ${x}ContractsConnection(where: {twinID_eq: ${t}, state_in: ${S}}, orderBy: twinID_ASC){count: totalCount} }`)).data.items.count;
    const n = { name: await count('name'), node: await count('node'), rent: await count('rent') };
    assert.deepEqual(n, { name: 1, node: 3, rent: 0 });
    const q = `query getContracts($nameContractsCount: Int!, $nodeContractsCount: Int!, $rentContractsCount: Int!){
      nameContracts(where: {twinID_eq: ${t}, state_in: ${S}}, limit: $nameContractsCount){contractID createdAt name solutionProviderID state twinID}
      nodeContracts(where: {twinID_eq: ${t}, state_in: ${S}}, limit: $nodeContractsCount){contractID deploymentData state createdAt nodeID numberOfPublicIPs}
      rentContracts(where: {twinID_eq: ${t}, state_in: ${S}}, limit: $rentContractsCount){contractID createdAt nodeID solutionProviderID state twinID} }`;
    const r = await gql(url, q, { nameContractsCount: n.name, nodeContractsCount: n.node, rentContractsCount: n.rent });
    assert.equal(r.errors, undefined);
    assert.deepEqual(r.data.nameContracts.map((c: any) => [c.contractID, c.name, c.state, c.twinID, c.solutionProviderID]), [
      [String(ids.name), 'gqlname', 'Created', t, null],
    ]);
    const [vm] = r.data.nodeContracts;
    assert.equal(vm.contractID, String(ids.vm1));
    assert.equal(vm.nodeID, node.nodeId);
    assert.equal(vm.deploymentData, vmData('vm1'));
    assert.equal(vm.numberOfPublicIPs, 0);
    assert.match(vm.createdAt, /^\d+$/);
    assert.ok(Number(vm.createdAt) > 1_600_000_000, 'block time in seconds');
    assert.deepEqual(r.data.rentContracts, []);
  });

  test('G7: deploymentData_contains matches the type with its closing quote and the project as a prefix', async () => {
    const t = user.twinId;
    const q = (type: string, project?: string, extra = '') =>
      `query getContracts($nodeContractsCount: Int!){ nodeContracts(where: {twinID_eq: ${t}, state_in: ${S} , AND: [{ deploymentData_contains: "\\"type\\":\\"${type}\\"" },${
        project ? `{ deploymentData_contains: "\\"projectName\\":\\"${project}" },` : ''
      }]${extra}}, limit: $nodeContractsCount){contractID deploymentData state createdAt nodeID numberOfPublicIPs} }`;
    const list = async (query: string) => (await gql(url, query, { nodeContractsCount: 10 })).data.nodeContracts.map((c: any) => Number(c.contractID));
    assert.deepEqual(await list(q('vm')), [ids.vm1], 'the cancelled vm is not listed');
    assert.deepEqual(await list(q('network')), [ids.net], '"network" does not match network-light');
    assert.deepEqual(await list(q('network-light')), [ids.light]);
    assert.deepEqual(await list(q('vm', 'vm/v')), [ids.vm1], 'project prefix');
    assert.deepEqual(await list(q('vm', 'other')), []);
    assert.deepEqual(await list(q('vm', undefined, `, nodeID_eq: ${node.nodeId}`)), [ids.vm1]);
  });

  test('G8/G9: bill reports and createdAt by contract id (BigInt variable as a number)', async () => {
    const q = `query getConsumption($contractId: BigInt!){
      contractBillReports(where: {contractID_eq: $contractId}, orderBy: timestamp_DESC, limit: 2) { amountBilled timestamp discountReceived }
      nodeContracts(where: {contractID_eq: $contractId}) { createdAt }
      nameContracts(where: {contractID_eq: $contractId}) { createdAt }
      rentContracts(where: {contractID_eq: $contractId}) { createdAt } }`;
    const r = await gql(url, q, { contractId: ids.vm1 });
    assert.equal(r.errors, undefined);
    assert.ok(Array.isArray(r.data.contractBillReports));
    assert.equal(r.data.nodeContracts.length, 1);
    assert.deepEqual(r.data.nameContracts, []);
  });

  test('entities and nested objects the dashboard reads', async () => {
    const r = await gql(url, `query { nodes { nodeID farmID uptime createdAt updatedAt certification dedicated resourcesTotal { cru mru } location { latitude }
      interfaces { name } } farms { farmID name certification dedicatedFarm publicIPs { ip contractId farm { farmID } } }
      twins(where: {twinID_eq: ${user.twinId}}) { twinID accountID relay publicKey } uptimeEvents(where: {nodeID_eq: ${node.nodeId}}) { uptime } }`);
    assert.equal(r.errors, undefined, JSON.stringify(r.errors));
    const [n] = r.data.nodes;
    assert.equal(n.uptime, '60');
    assert.equal(n.certification, 'Diy');
    assert.equal(n.dedicated, false);
    assert.deepEqual(n.resourcesTotal, { cru: '4', mru: String(16 * 1024 ** 3) });
    assert.equal(r.data.farms[0].publicIPs[0].farm.farmID, f.farmId);
    assert.deepEqual(r.data.twins, [{ twinID: user.twinId, accountID: user.pair.address, relay: '127.0.0.1', publicKey: null }]);
    assert.deepEqual(r.data.uptimeEvents, [{ uptime: '60' }]);
  });

  test('connections page with first/after and need orderBy', async () => {
    const page = await gql(url, 'query { nodeContractsConnection(orderBy: contractID_ASC, first: 2) { totalCount edges { cursor node { contractID } } pageInfo { hasNextPage endCursor } } }');
    assert.equal(page.data.nodeContractsConnection.totalCount, 4);
    assert.equal(page.data.nodeContractsConnection.edges.length, 2);
    assert.equal(page.data.nodeContractsConnection.pageInfo.hasNextPage, true);
    const next = await gql(url, `query { nodeContractsConnection(orderBy: contractID_ASC, first: 2, after: "${page.data.nodeContractsConnection.pageInfo.endCursor}") { edges { node { contractID } } } }`);
    assert.deepEqual(next.data.nodeContractsConnection.edges.map((e: any) => Number(e.node.contractID)), [ids.light, ids.gone]);
    const noOrder = await gql(url, 'query { nodesConnection { totalCount } }');
    assert.match(noOrder.errors[0].message, /orderBy/);
  });

  test('bad queries are GraphQL errors and the server keeps answering', async () => {
    for (const q of ['query { nodes( { id } }', 'query { nodes(where: {bogus_eq: 1}) { id } }', 'query { nodes(where: {nodeID_eq: "x"}) { id } }', '{ nope }',
      'query { nodeContractsConnection(orderBy: contractID_ASC, after: "-5") { totalCount } }']) {
      const r = await gql(url, q);
      assert.ok(r.errors?.length, q);
    }
    const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' });
    assert.ok(res.status >= 400 && res.status < 500);
    assert.deepEqual((await gql(url, 'query { __typename }')).data, { __typename: 'Query' });
  });
});
