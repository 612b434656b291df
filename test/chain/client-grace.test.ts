import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyPairFromSecret } from '../../chain/client/keys.ts';
import { collectUntil, registerNode, startChain, TFT } from './client-fixtures.ts';

/**
 * Billing-driven events on a real devnet: an out-of-funds contract enters its grace period and
 * leaves it once funded; the stream decodes both (driven by the devnet's dev_* RPCs).
 */
test('client: the stream sees ContractGracePeriodStarted when the owner runs dry, and Ended after funding', { timeout: 90_000 }, async (t) => {
  const env = await startChain();
  const c = env.client;
  try {
    const { nodeId, nodeKey } = await registerNode(c, 'grace_farm');
    const ferdie = await keyPairFromSecret('//Ferdie');
    const user = c.as(ferdie);
    await user.ensureTermsAccepted();
    await user.ensureTwin({ relay: null, pk: null });
    const contract = await user.createNodeContract({ nodeId, hash: 'c0000000000000000000000000000001', data: '' });
    const id = contract.contractId;
    // A contract costs what its node reports it uses.
    await c.as(nodeKey).reportContractResources([{ contractId: id, used: { hru: 0, sru: 100 * 2 ** 30, cru: 4, mru: 8 * 2 ** 30 } }]);
    const dev = (method: string, params: unknown[]) => c.run((conn) => conn.rpc.request(method, params));

    const stream = c.events({ after: await c.query.finalizedBlockNumber() });
    await dev('dev_setBalance', [ferdie.address, 1]);
    await dev('dev_timeTravel', [{ byMs: 6 * 3600_000 }]);
    await dev('dev_newBlock', [{ count: 12 }]);
    const started = (await collectUntil(stream, (e) => e.kind === 'ContractGracePeriodStarted' && e.contractId === id))
      .flatMap((b) => b.events.map((e) => ({ e, block: b.blockNumber })))
      .find(({ e }) => e.kind === 'ContractGracePeriodStarted');
    assert.ok(started?.e.kind === 'ContractGracePeriodStarted');
    assert.deepEqual({ ...started.e, blockNumber: 0 }, { kind: 'ContractGracePeriodStarted', contractId: id, nodeId, twinId: contract.twinId, blockNumber: 0 });
    assert.ok(started.e.blockNumber > 0 && started.e.blockNumber <= started.block);
    assert.deepEqual((await c.query.contract(id))?.state, { kind: 'GracePeriod', sinceBlock: started.e.blockNumber });

    await dev('dev_setBalance', [ferdie.address, (1000n * TFT).toString()]);
    await dev('dev_newBlock', [{ count: 12 }]);
    const ended = (await collectUntil(stream, (e) => e.kind === 'ContractGracePeriodEnded' && e.contractId === id))
      .flatMap((b) => b.events)
      .find((e) => e.kind === 'ContractGracePeriodEnded');
    assert.deepEqual(ended, { kind: 'ContractGracePeriodEnded', contractId: id, nodeId, twinId: contract.twinId });
    assert.deepEqual((await c.query.contract(id))?.state, { kind: 'Created' });
    await stream.close();
  } finally {
    await env.close();
  }
});
