import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Deployments } from '../../node/api/deployments.ts';
import { JobQueue } from '../../node/engine/queue.ts';
import { DeploymentStore } from '../../node/engine/store.ts';
import { ZosError } from '../../node/errors.ts';
import { kycCheck } from '../../node/kyc.ts';
import { sign, type Deployment } from '../../node/model/index.ts';
import { withUnverifiedTls } from '../compat/helpers.ts';
import { hasOpenssl, selfSignedCert } from '../helpers/tls.ts';
import { requireHost } from '../helpers/host.ts';
import { openDb, tempDbPath } from '../node/engine/engine-db.testing.ts';
import { getJson, startChainFixture, synced, type ChainFixture } from './fixtures.ts';

/**
 * The KYC status service the indexer serves (ThreeFold's shape) read by grid_client's own KYC
 * class over https, and the node's KYC check of a deployer (`zos node --kyc-url`): an
 * unverified twin's deployment is refused with zos' text and nothing is stored.
 */
describe('KYC', () => {
  let f: ChainFixture;
  let url: string;
  let tmp: string;
  let tlsUrl = '';
  let verified: Awaited<ReturnType<ChainFixture['account']>>;
  let unverified: Awaited<ReturnType<ChainFixture['account']>>;

  before(async () => {
    f = await startChainFixture();
    verified = await f.account();
    unverified = await f.account();
    tmp = await mkdtemp(join(tmpdir(), 'zos-kyc-'));
    const started = await f.indexer({ kycVerified: [verified.pair.address] });
    url = started.url;
    await synced(f, started.indexer);
    if (await hasOpenssl()) {
      const cert = await selfSignedCert(tmp);
      tlsUrl = (await f.indexer({ kycVerified: [verified.pair.address], tls: { cert: cert.cert, key: cert.key } })).url;
    }
  });
  after(async () => {
    await f?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  test('status by client_id and by twin_id; 404 = not verified; bad input 400', async () => {
    const status = async (q: string) => {
      const r = await getJson(`${url}/api/v1/status?${q}`);
      return [r.status, r.body.result?.status ?? r.body.error];
    };
    assert.deepEqual(await status(`client_id=${verified.pair.address}`), [200, 'VERIFIED']);
    assert.deepEqual((await status(`client_id=${unverified.pair.address}`))[0], 404);
    assert.deepEqual(await status(`twin_id=${verified.twinId}`), [200, 'VERIFIED']);
    assert.deepEqual((await status(`twin_id=${unverified.twinId}`))[0], 404);
    assert.deepEqual((await status('twin_id=999'))[0], 404);
    assert.match(String((await status('twin_id=abc'))[1]), /twin_id/);
    assert.match(String((await status('client_id=nope'))[1]), /client_id/);
    assert.match(String((await status(''))[1]), /client_id/);
  });

  test("grid_client's KYC class over https reads VERIFIED and UNVERIFIED", async (t) => {
    if (!requireHost(t, tlsUrl !== '', 'openssl is not installed (apt-get install openssl)')) return;
    const require = createRequire(import.meta.url);
    const { KYC, KycStatus } = require('@threefold/grid_client') as { KYC: new (domain: string, mnemonic: string) => any; KycStatus: Record<string, string> };
    const domain = tlsUrl.replace('https://', '');
    // The certificate is self-signed and KYC (axios) takes no CA option: verification is off for these calls only.
    assert.equal(await withUnverifiedTls(() => new KYC(domain, verified.mnemonic).status()), KycStatus.verified);
    assert.equal(await withUnverifiedTls(() => new KYC(domain, unverified.mnemonic).status()), KycStatus.unverified);
  });

  test('the node refuses a deployment from an unverified twin (zos text), stores nothing; a verified one goes through', async (t) => {
    const db = openDb(t, tempDbPath(t));
    const store = new DeploymentStore(db);
    const queue = new JobQueue(db, { pollMs: 20 });
    const accounts = new Map([[verified.twinId, verified.pair.publicKey], [unverified.twinId, unverified.pair.publicKey]]);
    const api = new Deployments({
      db, store, queue, provisions: () => true, kyc: kycCheck(url),
      chain: { twinAccountId: async (twin: number) => accounts.get(twin) ?? null },
    });
    const dl = (who: typeof verified, contract: number): Deployment =>
      sign({
        version: 0, twin_id: who.twinId, contract_id: contract, metadata: '', description: '', expiration: 0,
        signature_requirement: { requests: [{ twin_id: who.twinId, required: true, weight: 1 }], weight_required: 1, signatures: [], signature_style: '' },
        workloads: [{ version: 0, name: 'v', type: 'volume', data: { size: 1 << 20 }, metadata: '', description: '', result: { created: 0, state: 'init', message: '', data: null } }],
      } as Deployment, who.twinId, who.pair);
    await assert.rejects(api.deploy(unverified.twinId, dl(unverified, 7)), (err: unknown) => {
      assert.ok(err instanceof ZosError);
      assert.equal(err.message, `user with twin id ${unverified.twinId} is not verified`);
      return true;
    });
    assert.equal(queue.size(), 0);
    assert.deepEqual(store.listActive(unverified.twinId), []);
    assert.equal(await api.deploy(verified.twinId, dl(verified, 8)), null);
    assert.equal(queue.size(), 1);
    // A KYC service that does not answer refuses rather than lets a deployment through.
    const down = new Deployments({ db, store, queue, provisions: () => true, kyc: kycCheck('http://127.0.0.1:9', 2000), chain: { twinAccountId: async (tw: number) => accounts.get(tw) ?? null } });
    await assert.rejects(down.deploy(verified.twinId, dl(verified, 9)), /failed to check the KYC status/);
  });
});
