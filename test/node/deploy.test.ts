import { test, before, after } from 'node:test';
import { readStorage } from '../../chain/client/queries.ts';
import assert from 'node:assert/strict';
import { startGrid, type Grid, type GridUser, type NodeProcess, waitFor } from '../helpers/grid.ts';
import { requireHost } from '../helpers/host.ts';
import { diskDeployment, fileSize, GiB, MiB, quotaOf, rmb, signed, vdiskPath, volumePath, waitStates, withContract } from '../helpers/deployments.ts';
import { hashHex, type Deployment } from '../../node/model/index.ts';
import { primitives, type PrimitiveHosts } from '../../node/primitives/index.ts';

let grid: Grid;
let node: NodeProcess;
let user: GridUser;

before(async () => {
  grid = await startGrid();
  [node, user] = await Promise.all([grid.startNode(), grid.user()]); // neither needs the other
});
after(async () => grid?.close());

test('deploy: a signed zmount+volume deployment reaches ok, with the disk and quota on the host', async (t) => {
  if (!requireHost(t, process.getuid?.() === 0, 'needs root for btrfs/loop devices')) return;
  const dl = await withContract(user, node.nodeId, (id) => diskDeployment(user, id));
  assert.equal(await rmb(user, node.twinId, 'zos.deployment.deploy', dl), null);
  const got = await waitStates(user, node.twinId, dl.contract_id, (s) => s.disk === 'ok' && s.vol === 'ok', 'workloads ok');
  const disk = got.workloads.find((w) => w.name === 'disk')!;
  const wlid = `${user.twinId}-${dl.contract_id}-disk`;
  assert.deepEqual(disk.result.data, { volume_id: wlid });
  assert.equal(await fileSize(vdiskPath(node.dataDir, wlid)), 1 * GiB);
  assert.equal(await quotaOf(volumePath(node.dataDir, `${user.twinId}-${dl.contract_id}-vol`)), 256 * MiB);
  // the node reports the contract's used resources on chain after the change
  await waitFor(async () => {
    const r = (await grid.client.run((c) => readStorage(c, 'smartContractModule', 'nodeContractResources', [dl.contract_id]))) as { used: { sru: number } };
    return r.used.sru === 1 * GiB + 256 * MiB;
  }, 'contract resources reported on chain', 60_000);

  // update: grow the disk and the volume (version 1), with the contract hash updated first
  const next = signed(user, {
    ...got,
    version: 1,
    workloads: got.workloads.map((w) => ({ ...w, version: 1, data: { size: w.name === 'disk' ? 2 * GiB : 512 * MiB } })),
  } as Deployment);
  await user.account.updateNodeContract(dl.contract_id, hashHex(next), '');
  assert.equal(await rmb(user, node.twinId, 'zos.deployment.update', next), null);
  await waitFor(async () => (await fileSize(vdiskPath(node.dataDir, wlid))) === 2 * GiB, 'disk grown to 2 GiB', 60_000);
  await waitFor(async () => (await quotaOf(volumePath(node.dataDir, `${user.twinId}-${dl.contract_id}-vol`))) === 512 * MiB, 'quota grown', 60_000);
  const updated = await waitStates(user, node.twinId, dl.contract_id, (s) => s.disk === 'ok' && s.vol === 'ok', 'ok after update');
  assert.equal(updated.version, 1);

  // cancel on chain: the node deprovisions, files gone, log says deleted
  await user.account.cancelContract(dl.contract_id);
  await waitFor(async () => (await fileSize(vdiskPath(node.dataDir, wlid))) === null, 'vdisk removed', 60_000);
  const changes = await rmb<Array<{ name: string; result: { state: string } }>>(user, node.twinId, 'zos.deployment.changes', { contract_id: dl.contract_id });
  assert.deepEqual(changes.filter((c) => c.result.state === 'deleted').map((c) => c.name).sort(), ['disk', 'vol']);
  assert.equal(await quotaOf(volumePath(node.dataDir, `${user.twinId}-${dl.contract_id}-vol`)), null);
});

test('deploy: a contract with another hash turns every workload to error', async () => {
  const contract = await user.account.createNodeContract({ nodeId: node.nodeId, hash: 'f'.repeat(32), data: '' });
  const real = diskDeployment(user, contract.contractId);
  await rmb(user, node.twinId, 'zos.deployment.deploy', real);
  const got = await waitStates(user, node.twinId, real.contract_id, (s) => s.disk === 'error' && s.vol === 'error', 'workloads error');
  assert.ok(got.workloads.every((w) => w.result.message === 'contract hash does not match deployment hash'));
});

test('deploy: bad input gets zos errors and changes nothing', async () => {
  const dl = await withContract(user, node.nodeId, (id) => diskDeployment(user, id));
  const expectError = async (payload: unknown, re: RegExp, cmd = 'zos.deployment.deploy') =>
    assert.rejects(rmb(user, node.twinId, cmd, payload), (e: Error) => {
      assert.match(e.message, re);
      return true;
    });
  await expectError({ nonsense: true }, /twin id mismatch \(deployment: 0/); // Go decoding: unknown keys ignored, zero values
  await expectError({ ...dl, twin_id: dl.twin_id + 1000 }, /twin id mismatch/);
  await expectError({ ...dl, signature_requirement: { ...dl.signature_requirement, signatures: [] } }, /missing required signature/);
  await expectError(signed(user, { ...dl, version: 3 } as Deployment), /expected version to be 0/);
  await expectError({ ...dl, workloads: [{ ...dl.workloads[0]!, type: 'nosuchtype' }] }, /invalid reservation type/);
  await expectError({ ...dl, workloads: [{ ...dl.workloads[0]!, name: 'bad name!' }] }, /name/i);
  await expectError({ contract_id: dl.contract_id }, /deletion over the api is disabled/, 'zos.deployment.delete');
  await expectError({}, /function is not found/, 'zos.nosuch.command');
  await expectError({ contract_id: 999999 }, /deployment not found/, 'zos.deployment.get');
  // nothing was stored for this contract by any of the rejected requests
  await expectError({ contract_id: dl.contract_id }, /deployment not found/, 'zos.deployment.get');
  // the valid one still deploys, and a second deploy of it answers exists
  await rmb(user, node.twinId, 'zos.deployment.deploy', dl);
  await expectError(dl, /exists/);
  await waitStates(user, node.twinId, dl.contract_id, (s) => s.disk === 'ok' && s.vol === 'ok', 'ok');
});

test('deploy: node_features_get lists what the node provisions; a deployment with another type is refused per workload', async () => {
  // exactly the registry's types: constructing the primitives touches no host, so empty hosts do
  const provisioned = Object.keys(primitives({} as PrimitiveHosts));
  assert.deepEqual(await rmb(user, node.twinId, 'zos.system.node_features_get'), [...provisioned, 'wireguard'], 'wireguard with the network type, as zos lists it');
  assert.ok(provisioned.includes('zmount') && provisioned.includes('volume') && !provisioned.includes('zdb'));
  const draft = diskDeployment(user, 0);
  const zdb = { ...draft.workloads[0]!, name: 'db', type: 'zdb', data: { size: GiB, mode: 'user', password: '', public: false } };
  const dl = signed(user, { ...draft, contract_id: 4242, workloads: [...draft.workloads, zdb] } as Deployment);
  await assert.rejects(rmb(user, node.twinId, 'zos.deployment.deploy', dl), /workload 'db': type 'zdb' is not provisioned by this node/);
  await assert.rejects(rmb(user, node.twinId, 'zos.deployment.get', { contract_id: 4242 }), /deployment not found/);
});

test('deploy: another twin cannot read or update a deployment', async () => {
  const other = await grid.user();
  const list = await rmb<Deployment[]>(other, node.twinId, 'zos.deployment.list');
  assert.deepEqual(list, []);
  const mine = await rmb<Deployment[]>(user, node.twinId, 'zos.deployment.list');
  assert.ok(mine.length >= 1);
  const theirs = mine[0]!;
  await assert.rejects(rmb(other, node.twinId, 'zos.deployment.get', { contract_id: theirs.contract_id }), /deployment not found/);
  // An update of someone else's deployment, as is and claimed as one's own, changes nothing.
  const bumped = { ...theirs, version: theirs.version + 1, workloads: theirs.workloads.map((w) => ({ ...w, version: theirs.version + 1 })) } as Deployment;
  await assert.rejects(rmb(other, node.twinId, 'zos.deployment.update', signed(other, bumped)), /twin id mismatch/);
  await assert.rejects(rmb(other, node.twinId, 'zos.deployment.update', signed(other, { ...bumped, twin_id: other.twinId } as Deployment)));
  const after = await rmb<Deployment>(user, node.twinId, 'zos.deployment.get', { contract_id: theirs.contract_id });
  assert.deepEqual(after, theirs);
});

test('deploy: the node follows TwinUpdated, so a user who rotates its encryption key is understood at once', async (t) => {
  const { RelayPeer } = await import('../../relay-client/peer.ts');
  const { createIdentity } = await import('../../relay-client/identity.ts');
  const { chainTwins } = await import('../../node/twins.ts');
  const { mnemonicGenerate } = await import('@polkadot/util-crypto');
  const u = await grid.user();
  assert.deepEqual(await rmb(u, node.twinId, 'zos.deployment.list'), []); // the node now caches u's pk
  const other = await createIdentity(mnemonicGenerate());
  const rotated = { ...u.identity, secpSecret: other.secpSecret, secpPublic: other.secpPublic };
  await u.account.ensureTwin({ relay: ['127.0.0.1'], pk: rotated.secpPublic });
  const peer = new RelayPeer({ identity: rotated, twinId: u.twinId, relays: [grid.relayUrl], twins: chainTwins(grid.client) });
  await peer.start();
  t.after(() => peer.close());
  // Before, the node kept the old pk for an hour and answered 106 (cannot decrypt) meanwhile.
  let last: unknown;
  await waitFor(async () => {
    last = await peer.request(node.twinId, 'zos.deployment.list', undefined, { timeoutMs: 5_000 }).catch((e: Error) => e.message);
    return Array.isArray(last);
  }, 'a request encrypted for the new key is answered', 20_000, 500).catch((err: Error) => assert.fail(`${err.message}: ${String(last)}`));
});
