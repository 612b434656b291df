import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mnemonicGenerate } from '@polkadot/util-crypto';
import { startGrid, waitFor, type Grid, type NodeProcess } from '../helpers/grid.ts';
import { requireHost } from '../helpers/host.ts';
import { fileSize, GiB, MiB, vdiskPath } from '../helpers/deployments.ts';
import {
  closeRmb, decodeLikeGridClient, generatePublicKey, muteClientChatter, officialDiskDeployment,
  RmbClient, rmbRequest, TC_HASH, TC_LINK, TfchainClient, withUnverifiedTls, type OfficialChain, type OfficialRmb,
} from './helpers.ts';
import { cannotListen, hasOpenssl, selfSignedCert } from '../helpers/tls.ts';

/**
 * Our node driven end to end by the unmodified official npm clients (@threefold/tfchain_client,
 * rmb_direct_client and grid_client's deployment classes, 2.9.2), as the ThreeFold dashboard does.
 *
 * The official RMB client publishes `relayUrl.replace("wss://","").replace("/","")` as its twin's
 * relay and tfchain rejects ':' there, so the relay must be wss:// on the default port: it runs with
 * a self-signed cert on 127.0.0.1:443 (needs root), which is also what our node publishes.
 */

const RELAY_URL = 'wss://127.0.0.1/';
const RELAY_HOST = '127.0.0.1';

let skipReason = '';
let tmp = '';
let grid: Grid | null = null;
let node: NodeProcess;
let chain: OfficialChain | null = null;
let rmb: OfficialRmb | null = null;
let twinId = 0;
let unmute = () => {};
const mnemonic = mnemonicGenerate();

before(async () => {
  if (process.getuid?.() !== 0) skipReason = 'needs root (port 443, btrfs/loop devices)';
  else if (!(await hasOpenssl())) skipReason = 'openssl is not installed (see .ci/debian-packages)';
  else skipReason = (await cannotListen(443)) ?? '';
  if (skipReason) return;
  unmute = muteClientChatter();
  tmp = await mkdtemp(join(tmpdir(), 'zos-compat-'));
  const tls = await selfSignedCert(tmp);
  try {
    grid = await startGrid({
      relayTls: { cert: tls.cert, key: tls.key }, relayPort: 443, nodeEnv: { NODE_EXTRA_CA_CERTS: tls.certPath },
      // tfchain_client waits for InBlock only, and @polkadot/api drops that update when Finalized follows
      // before its events query returns (switchMap): on this loaded host 250 ms was too short.
    });
  } catch (err) {
    // Another process took 443 between the probe and the relay's listen.
    if ((err as { code?: string }).code !== 'ERR_PORT_IN_USE') throw err;
    skipReason = `cannot listen on 127.0.0.1:443: EADDRINUSE`;
    return;
  }
  const g = grid;
  [node] = await Promise.all([
    g.startNode(),
    // Meanwhile a fresh account funded by the devnet faucet, as the dashboard's activation service does.
    (async () => {
      const c = (chain = new TfchainClient({ url: g.chainUrl, mnemonicOrSecret: mnemonic, keypairType: 'sr25519' }));
      await c.connect();
      const res = await fetch(g.activationUrl, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ substrateAccountID: c.address }),
      });
      assert.ok(res.ok, `faucet: ${res.status} ${await res.text()}`);
      await waitFor(async () => BigInt((await c.balances.getMyBalance()).free) > 0n, 'user funded', 30_000);
    })(),
  ]);
});

after(async () => {
  await closeRmb(rmb);
  await chain?.disconnect().catch(() => undefined);
  await grid?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
  unmute();
});

function ready(t: TestContext, needRmb = true): boolean {
  if (!requireHost(t, skipReason === '' && grid !== null, skipReason || 'grid not started')) return false;
  if (needRmb && rmb?.con?.readyState !== 1) throw new Error('the official RMB client is not connected (see the first test)');
  return true;
}

test('official clients: T&C and twin by tfchain_client; rmb_direct_client connects over wss and publishes its relay and pk', { timeout: 120_000 }, async (t) => {
  if (!ready(t, false)) return;
  await (await chain.termsAndConditions.accept({ documentLink: TC_LINK, documentHash: TC_HASH })).apply();
  // The relay is set at creation: rmb_direct_client reads `twin.relay.split("_")` on every send and
  // only refreshes `pk` locally after its own updateTwin, so a twin created without relay would break it.
  const twin = await (await chain.twins.create({ relay: RELAY_HOST, pk: null })).apply();
  twinId = twin.id;
  assert.ok(twinId > 0);
  assert.equal(await chain.twins.getMyTwinId(), twinId);

  rmb = new RmbClient(grid!.chainUrl, RELAY_URL, mnemonic, `compat${Date.now() % 100000}`, 'sr25519', 3);
  await withUnverifiedTls(() => rmb.connect());
  // connect() submits updateTwin(relay host, secp256k1 pk) because the pk differed.
  const onChain = await chain.twins.get({ id: twinId });
  assert.equal(onChain.relay, RELAY_HOST);
  assert.equal(onChain.pk, generatePublicKey(mnemonic));
  assert.equal(rmb.con.readyState, rmb.con.OPEN);
});

test('official rmb client: zos.system.version and zos.statistics.get answer in zos shapes; node errors arrive as RMBError', { timeout: 120_000 }, async (t) => {
  if (!ready(t)) return;
  const version = await rmbRequest<{ zos: string; zinit: string }>(rmb, node.twinId, 'zos.system.version');
  assert.deepEqual(Object.keys(version).sort(), ['zinit', 'zos']);
  assert.equal(typeof version.zos, 'string');
  assert.equal(typeof version.zinit, 'string');

  const stats = await rmbRequest<Record<string, any>>(rmb, node.twinId, 'zos.statistics.get');
  assert.deepEqual(Object.keys(stats).sort(), ['open_connections', 'system', 'total', 'used', 'users']);
  for (const k of ['total', 'used', 'system'] as const) {
    assert.deepEqual(Object.keys(stats[k]).sort(), ['cru', 'hru', 'ipv4u', 'mru', 'sru'], k);
    for (const v of Object.values(stats[k])) assert.ok(Number.isInteger(v) && (v as number) >= 0, `${k}: ${JSON.stringify(stats[k])}`);
  }
  assert.deepEqual(Object.keys(stats.users).sort(), ['deployments', 'last_deployment_timestamp', 'workloads']);
  // grid_client's getNodeFreeResources computes total - used from these: it must stay positive.
  assert.ok(stats.total.cru > 0 && stats.total.mru - stats.used.mru > 0 && stats.total.sru - stats.used.sru >= 0, JSON.stringify(stats));

  // Node errors reach the official client as RMBError("<code> <message>").
  const rmbError = (re: RegExp) => (e: Error) => {
    assert.equal(e.constructor.name, 'RMBError');
    assert.match(e.message, re);
    return true;
  };
  await assert.rejects(rmbRequest(rmb, node.twinId, 'zos.deployment.get', { contract_id: 999_999 }), rmbError(/^0 deployment not found/));
  await assert.rejects(rmbRequest(rmb, node.twinId, 'zos.no.such.command'), rmbError(/^0 function is not found$/));
});

/**
 * The whole deployment life cycle with the official clients. `wire` turns grid_client's deployment
 * object into the JSON text sent (grid_client itself sends `JSON.stringify(deployment)`).
 */
async function deploymentLifecycle(description: string, wire: (dl: any) => string): Promise<void> {
  // Distinct descriptions give distinct hashes: the chain refuses a second contract with the same hash on a node.
  const dl = officialDiskDeployment(twinId, { disk: 1 * GiB, volume: 256 * MiB, description });
  const hash: string = dl.challenge_hash();
  assert.match(hash, /^[0-9a-f]{32}$/);

  const [contract] = await chain.applyAllExtrinsics([await chain.contracts.createNode({ nodeId: node.nodeId, hash, data: '', numberOfPublicIps: 0 })]);
  assert.ok(contract.contractId > 0, JSON.stringify(contract));
  dl.contract_id = contract.contractId;
  await dl.sign(twinId, mnemonic, 'sr25519');
  assert.equal(dl.signature_requirement.signatures.length, 1);

  const id = await rmb.send('zos.deployment.deploy', wire(dl), node.twinId, 1);
  assert.equal(await rmb.read(id), null);

  let got: any;
  await waitFor(async () => {
    got = await rmbRequest(rmb, node.twinId, 'zos.deployment.get', { contract_id: dl.contract_id });
    return got.workloads.length === 2 && got.workloads.every((w: any) => w.result.state === 'ok');
  }, `both workloads ok (last: ${JSON.stringify(got?.workloads?.map((w: any) => [w.name, w.result.state, w.result.message]))})`, 120_000, 1_000);
  const wlid = `${twinId}-${dl.contract_id}-disk`;
  assert.equal(await fileSize(vdiskPath(node.dataDir, wlid)), 1 * GiB);

  // grid_client decodes the node's answer into its classes: valid, and hashing to the contract's hash.
  const decoded = await decodeLikeGridClient(got);
  assert.deepEqual(decoded.errors, []);
  assert.equal(decoded.deployment.challenge_hash(), hash);
  assert.equal(decoded.deployment.workloads.find((w: any) => w.name === 'disk').result.data.volume_id, wlid);

  // Update the way grid_client's update path does: its decoded copy of the node's deployment, changed
  // workloads at version + 1, deployment version + 1, sign() (which also overwrites the signature the
  // node returned, so two equal signatures of this twin go out), contract hash by batchAll, then update.
  const next = decoded.deployment;
  const disk = next.workloads.find((w: any) => w.name === 'disk');
  disk.version = next.version + 1;
  disk.data.size = 2 * GiB;
  next.version += 1;
  await next.sign(twinId, mnemonic, 'sr25519');
  assert.equal(next.signature_requirement.signatures.length, 2);
  await chain.applyAllExtrinsics([await chain.contracts.updateNode({ id: dl.contract_id, hash: next.challenge_hash(), data: '' })]);
  assert.equal(await rmb.read(await rmb.send('zos.deployment.update', wire(next), node.twinId, 1)), null);
  await waitFor(async () => (await fileSize(vdiskPath(node.dataDir, wlid))) === 2 * GiB, 'disk grown to 2 GiB', 90_000);
  await waitFor(async () => {
    got = await rmbRequest(rmb, node.twinId, 'zos.deployment.get', { contract_id: dl.contract_id });
    return got.version === 1 && got.workloads.every((w: any) => w.result.state === 'ok');
  }, 'version 1 ok', 60_000, 1_000);

  const cancelled = await (await chain.contracts.cancel({ id: dl.contract_id })).apply();
  assert.equal(cancelled, dl.contract_id);
  let changes: Array<{ name: string; result: { state: string } }> = [];
  await waitFor(async () => {
    changes = await rmbRequest(rmb, node.twinId, 'zos.deployment.changes', { contract_id: dl.contract_id });
    return changes.filter((c) => c.result.state === 'deleted').length === 2;
  }, `both workloads deleted (last: ${JSON.stringify(changes.map((c) => [c.name, c.result.state]))})`, 120_000, 1_000);
  assert.deepEqual(changes.filter((c) => c.result.state === 'deleted').map((c) => c.name).sort(), ['disk', 'vol']);
  assert.equal(await fileSize(vdiskPath(node.dataDir, wlid)), null);
}

// grid_client's workload data classes carry a `__type` discriminator that JSON.stringify sends along
// (e.g. {"__type":"zmount","size":1073741824}); zos decodes data with plain json.Unmarshal, which ignores it.
test('official clients: grid_client-signed zmount+volume (its exact JSON), contract by batchAll, deployed over RMB, ok, updated, then cancelled and deleted', { timeout: 300_000 }, async (t) => {
  if (!ready(t)) return;
  await deploymentLifecycle('exact JSON', (dl) => JSON.stringify(dl));
});

// The same life cycle without the `__type` keys: every other step of the flow, checked on its own.
test('official clients: the same life cycle with `__type` left out of the workload data', { timeout: 300_000 }, async (t) => {
  if (!ready(t)) return;
  await deploymentLifecycle('no __type', (dl) => JSON.stringify(dl, (k, v) => (k === '__type' ? undefined : v)));
});
