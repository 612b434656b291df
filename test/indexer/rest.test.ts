import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Indexer } from '../../indexer/indexer.ts';
import { Call } from '../../chain/client/index.ts';
import { FARM_IPS, GIB, getJson, startChainFixture, synced, type ChainFixture } from './fixtures.ts';

/**
 * The gridproxy REST API over a devnet with real chain entities: two nodes, a user's node
 * contract (with a public IP), name and rent contracts, resource reports and a cancel. Every
 * answer comes from chain events the indexer followed.
 */
const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const DATA = JSON.stringify({ version: 3, type: 'vm', name: 'vm1', projectName: 'vm/vm1' });

describe('indexer REST', () => {
  let f: ChainFixture;
  let url: string;
  let ix: Indexer;
  let n1: Awaited<ReturnType<ChainFixture['node']>>;
  let n2: Awaited<ReturnType<ChainFixture['node']>>;
  let user: Awaited<ReturnType<ChainFixture['account']>>;
  let renter: Awaited<ReturnType<ChainFixture['account']>>;
  let nodeContract: number;
  let nameContract: number;
  let rentContract: number;

  before(async () => {
    f = await startChainFixture();
    n1 = await f.node({ publicIp: true });
    n2 = await f.node({ city: 'Cairo', country: 'egypt', mru: 8 * GIB });
    user = await f.account();
    renter = await f.account();
    nodeContract = (await user.chain.createNodeContract({ nodeId: n1.nodeId, hash: md5('d1'), data: DATA, publicIps: 1 })).contractId;
    nameContract = (await user.chain.createNameContract('myname')).contractId;
    rentContract = (await renter.chain.createRentContract(n2.nodeId)).contractId;
    await n1.chain.reportContractResources([{ contractId: nodeContract, used: { cru: 2, mru: 4 * GIB, sru: 10 * GIB, hru: 0 } }]);
    ({ url, indexer: ix } = await f.indexer());
    await synced(f, ix);
  });
  after(() => f?.close());

  test('/version answers 2xx (GridClient connect probe)', async () => {
    const r = await getJson(`${url}/version`);
    assert.equal(r.status, 200);
    assert.equal(typeof r.body.version, 'string');
  });

  test('/nodes: status up from uptime reports, used resources = contracts + system reservation', async () => {
    const r = await getJson(`${url}/nodes`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.map((n: any) => n.nodeId), [n1.nodeId, n2.nodeId]);
    const a = r.body[0];
    assert.equal(a.status, 'up');
    assert.equal(a.farmName, 'indexerfarm');
    assert.deepEqual(a.total_resources, { cru: 4, sru: 512 * GIB, hru: 0, mru: 16 * GIB });
    // 20 GiB SRU and max(total/10, 2 GiB) = 2 GiB MRU are reserved for the node itself (gridproxy setup.sql).
    assert.deepEqual(a.used_resources, { cru: 2, sru: 30 * GIB, hru: 0, mru: 4 * GIB + 2 * GIB });
    assert.deepEqual(a.publicConfig, { domain: 'gw.example.org', gw4: '185.206.122.1', gw6: '2a02:1802:5e::1', ipv4: '185.206.122.40/24', ipv6: '2a02:1802:5e::40/64' });
    assert.deepEqual(a.location, { country: 'Belgium', city: 'Ghent', longitude: 3.72, latitude: 51.05 });
    assert.equal(a.dedicated, false, 'a node with an active node contract in a shared farm is not dedicated');
    assert.equal(a.rentable, false);
    const b = r.body[1];
    assert.equal(b.rented, true);
    assert.equal(b.rentedByTwinId, renter.twinId);
    assert.equal(b.rentContractId, rentContract);
    assert.equal(b.dedicated, true);
    assert.deepEqual(b.used_resources.mru, 2 * GIB, 'small nodes reserve 2 GiB');
  });

  test('/nodes filters: the ones grid_client sends', async () => {
    const ids = async (q: string) => (await getJson(`${url}/nodes?${q}`)).body.map((n: any) => n.nodeId);
    assert.deepEqual(await ids(`node_id=${n2.nodeId}`), [n2.nodeId]);
    assert.deepEqual(await ids('ipv4=true&ipv6=true&status=up&page=1&sort_by=free_cru&sort_order=desc&features='), [n1.nodeId]);
    assert.deepEqual(await ids('ipv4=false'), [n2.nodeId]);
    assert.deepEqual(await ids(`free_mru=${10 * GIB}`), [n1.nodeId], 'n2 has 8 GiB total');
    assert.deepEqual(await ids(`total_cru=5`), []);
    assert.deepEqual(await ids(`available_for=${user.twinId}`), [n1.nodeId], 'n2 is rented by someone else');
    assert.deepEqual(await ids(`available_for=${renter.twinId}`), [n2.nodeId, n1.nodeId], "the renter's node sorts first");
    assert.deepEqual(await ids(`rented_by=${renter.twinId}`), [n2.nodeId]);
    assert.deepEqual(await ids(`rentable_or_rented_by=${renter.twinId}`), [n2.nodeId]);
    assert.deepEqual(await ids(`farm_ids=${f.farmId}%2C99&city=cairo`), [n2.nodeId]);
    assert.deepEqual(await ids('dedicated=false'), [n1.nodeId]);
    assert.deepEqual(await ids('status=down'), []);
    assert.deepEqual(await ids('free_ips=1&domain=true'), [n1.nodeId]);
    assert.deepEqual(await ids('sort_by=node_id&sort_order=DESC'), [n2.nodeId, n1.nodeId]);
    assert.deepEqual(await ids('page=2&size=1'), [n2.nodeId]);
    assert.deepEqual(await ids('page=3&size=1'), [], 'past the last page');
    // region: the country's region in gridproxy's country table (the mledoze/countries data set), by name, any case.
    assert.deepEqual(await ids('region=europe'), [n1.nodeId]);
    assert.deepEqual(await ids('region=Africa'), [n2.nodeId]);
    assert.deepEqual(await ids('region=Asia'), []);
    assert.deepEqual(await ids('region=Atlantis'), [], 'an unknown region matches no node');
    const counted = await getJson(`${url}/nodes?ret_count=true&size=1`);
    assert.equal(counted.headers.get('count'), '2');
    assert.equal(counted.headers.get('pages'), '2');
  });

  test('/nodes bad input: 400 naming the field', async () => {
    for (const [q, field] of [
      ['free_mru=lots', 'free_mru'],
      ['dedicated=yes', 'dedicated'],
      ['farm_ids=1,x', 'farm_ids'],
      ['features=teleport', 'features'],
      ['sort_by=colour', 'sort_by'],
      ['bogus=1', 'bogus'],
      ['page=0', 'page'],
    ]) {
      const r = await getJson(`${url}/nodes?${q}`);
      assert.equal(r.status, 400, q);
      assert.match(r.body.error, new RegExp(field!), q);
    }
  });

  test('/nodes/{id}: nested capacity, 404 as gridproxy, 400 for a non-number', async () => {
    const r = await getJson(`${url}/nodes/${n1.nodeId}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.total_resources, undefined);
    assert.deepEqual(r.body.capacity.total_resources.cru, 4);
    assert.equal(r.body.rentContractId, 0);
    assert.equal(r.body.inDedicatedFarm, false);
    assert.deepEqual(await getJson(`${url}/nodes/999`).then((x) => [x.status, x.body]), [404, { error: 'node not found' }]);
    assert.equal((await getJson(`${url}/nodes/abc`)).status, 400);
    assert.equal((await getJson(`${url}/gateways/${n2.nodeId}`)).status, 404);
    assert.equal((await getJson(`${url}/gateways/${n1.nodeId}`)).body.nodeId, n1.nodeId);
  });

  test('/farms: public IPs with their reservation, node_* filters', async () => {
    const r = await getJson(`${url}/farms`);
    assert.equal(r.status, 200);
    const [farm] = r.body;
    assert.equal(farm.farmId, f.farmId);
    assert.equal(farm.dedicated, false);
    assert.deepEqual(farm.publicIps.map((ip: any) => ip.ip), FARM_IPS.map((i) => i.ip));
    assert.deepEqual(farm.publicIps.map((ip: any) => ip.contract_id).sort(), [0, nodeContract].sort());
    assert.equal((await getJson(`${url}/farms?free_ips=2`)).body.length, 0);
    assert.equal((await getJson(`${url}/farms?free_ips=1&node_status=up`)).body.length, 1);
    assert.equal((await getJson(`${url}/farms?node_free_mru=${64 * GIB}`)).body.length, 0);
    assert.equal((await getJson(`${url}/farms?region=africa`)).body.length, 1);
    assert.equal((await getJson(`${url}/farms?region=oceania`)).body.length, 0);
    assert.equal((await getJson(`${url}/farms?farm_id=x`)).status, 400);
  });

  test('/contracts: all three types, filters, details; /contracts/{id}', async () => {
    const mine = await getJson(`${url}/contracts?twin_id=${user.twinId}`);
    assert.deepEqual(mine.body.map((c: any) => [c.contract_id, c.type, c.state]), [
      [nodeContract, 'node', 'Created'],
      [nameContract, 'name', 'Created'],
    ]);
    assert.deepEqual(mine.body[0].details, {
      nodeId: n1.nodeId, deployment_data: DATA, deployment_hash: md5('d1'), number_of_public_ips: 1, farm_name: 'indexerfarm', farm_id: f.farmId,
    });
    assert.deepEqual(mine.body[1].details, { name: 'myname' });
    const rent = await getJson(`${url}/contracts/${rentContract}`);
    assert.deepEqual(rent.body.details, { nodeId: n2.nodeId, farm_name: 'indexerfarm', farm_id: f.farmId });
    assert.equal((await getJson(`${url}/contracts?node_id=${n1.nodeId}&state=GracePeriod&number_of_public_ips=1`)).body.length, 0);
    assert.equal((await getJson(`${url}/contracts?node_id=${n1.nodeId}&state=Created,GracePeriod&number_of_public_ips=1`)).body.length, 1);
    assert.deepEqual(await getJson(`${url}/contracts/9999`).then((x) => [x.status, x.body]), [404, { error: 'contract not found' }]);
  });

  test('/twins and /stats', async () => {
    const t = await getJson(`${url}/twins?twin_id=${user.twinId}`);
    assert.deepEqual(t.body, [{ twinId: user.twinId, accountId: user.pair.address, relay: '127.0.0.1', publicKey: '' }]);
    const s = (await getJson(`${url}/stats?status=up`)).body;
    assert.equal(s.nodes, 2);
    assert.equal(s.farms, 1);
    assert.equal(s.publicIps, 2);
    assert.equal(s.accessNodes, 1);
    assert.equal(s.gateways, 1);
    assert.equal(s.contracts, 3);
    assert.deepEqual(s.nodesDistribution, { Belgium: 1, egypt: 1 });
    assert.equal(s.totalCru, 8);
  });

  test('a cancel frees the IP and the resources; the rent contract end frees the node', async () => {
    await user.chain.cancelContract(nodeContract);
    await renter.chain.cancelContract(rentContract);
    await synced(f, ix);
    const [a, b] = (await getJson(`${url}/nodes`)).body;
    assert.deepEqual(a.used_resources, { cru: 0, sru: 20 * GIB, hru: 0, mru: 2 * GIB });
    assert.equal(a.dedicated, true, 'an empty node reports dedicated (gridproxy)');
    assert.equal(b.rented, false);
    assert.equal(b.rentContractId, 0);
    const [farm] = (await getJson(`${url}/farms`)).body;
    assert.deepEqual(farm.publicIps.map((ip: any) => ip.contract_id), [0, 0]);
    const c = await getJson(`${url}/contracts/${nodeContract}`);
    assert.equal(c.body.state, 'Deleted');
  });

  test('price_usd: from the farm pricing policy (genesis), the node resources and extra fee; discount, filters, sort', async () => {
    const prices = async (q = '') => (await getJson(`${url}/nodes?${q}`)).body.map((n: any) => [n.nodeId, n.price_usd]);
    // Policy 1 of the devnet's genesis (cu 100000, su 50000): n1 4 CU + 2.56 SU, n2 (8 GiB) 2 CU + 2.56 SU; see price.test.ts.
    assert.deepEqual(await prices(), [[n1.nodeId, 38.016], [n2.nodeId, 23.616]]);
    assert.equal((await getJson(`${url}/nodes/${n1.nodeId}`)).body.price_usd, 38.016);
    // A balance of 1.5x n1's price takes 20 % off both (n2's is under 3x).
    assert.deepEqual(await prices('balance=57.024'), [[n1.nodeId, 30.413], [n2.nodeId, 18.893]]);
    const ids = async (q: string) => (await getJson(`${url}/nodes?${q}`)).body.map((n: any) => n.nodeId);
    assert.deepEqual(await ids('price_max=30'), [n2.nodeId]);
    assert.deepEqual(await ids('price_min=30'), [n1.nodeId]);
    assert.deepEqual(await ids('price_max=31&balance=57.024'), [n1.nodeId, n2.nodeId], 'filters compare the discounted price');
    assert.deepEqual(await ids('sort_by=price_usd'), [n2.nodeId, n1.nodeId]);
    assert.deepEqual(await ids('sort_by=price_usd&sort_order=desc'), [n1.nodeId, n2.nodeId]);
    assert.equal((await getJson(`${url}/nodes?price_min=cheap`)).status, 400);
    assert.equal((await getJson(`${url}/nodes?balance=-1`)).status, 400);

    // The farmer's extra fee on n2 re-prices it: (2·100000 + 2.56·50000 + 10000)·720/1e7. (A new pricing policy is
    // tested on the event mapping in price.test.ts: the devnet's root calls, tfchain's council stand-in, emit no events.)
    await f.farmer.submit(new Call('smartContractModule', 'setDedicatedNodeExtraFee', [n2.nodeId, 10_000]));
    await synced(f, ix);
    assert.deepEqual(await prices(), [[n1.nodeId, 38.016], [n2.nodeId, 24.336]]);
  });
});
