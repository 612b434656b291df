import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyPairFromSecret } from '../../chain/client/keys.ts';
import { Call } from '../../chain/client/scale.ts';
import { setZosVersion } from '../helpers/zos-version.ts';
import { startChain } from './client-fixtures.ts';

/** Root-only calls on a live devnet: dev_rootCall stands in for tfchain's council (set_zos_version). */
test('devnet: dev_rootCall runs set_zos_version with the pallet checks; a signed origin is refused', { timeout: 60_000 }, async () => {
  const env = await startChain();
  const c = env.client;
  try {
    assert.equal(await c.query.zosVersion(), '');
    const ref = '{"version":"2","digest":"blake3:' + 'ab'.repeat(32) + '"}';
    await setZosVersion(c, ref);
    assert.equal(await c.query.zosVersion(), ref);
    // The call's events are its block's, so followers (the indexer) see what the council changed.
    const events = await c.run(async (x) => {
      const head = await x.rpc.request<string>('chain_getBlockHash', []);
      return x.runtime.decodeEvents(await x.rpc.request('state_getStorage', [x.runtime.eventsKey, head]));
    });
    assert.deepEqual(
      events.map((e) => [e.phase, `${e.event.section}.${e.event.method}`]),
      [[{ initialization: null }, 'tfgridModule.ZosVersionUpdated'], [{ applyExtrinsic: 0 }, 'system.ExtrinsicSuccess']],
    );
    await assert.rejects(setZosVersion(c, ref), /root call failed: TfgridModule\.InvalidZosVersion/);
    await assert.rejects(c.run((x) => x.rpc.request('dev_rootCall', ['0xffff'])), /not a call of this runtime/);

    const alice = await keyPairFromSecret('//Alice');
    const signed = c.as(alice).submit(new Call('tfgridModule', 'setZosVersion', ['v9']));
    await assert.rejects(signed, /BadOrigin/);
    assert.equal(await c.query.zosVersion(), ref);
  } finally {
    await env.close();
  }
});
