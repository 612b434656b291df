import { test } from 'node:test';
import assert from 'node:assert/strict';
import { u8aToHex } from '@polkadot/util';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { freeBalance } from '../../chain/devnet/pallets/balances.ts';
import { TxPoolError } from '../../chain/devnet/executive/errors.ts';
import type { TxStatus } from '../../chain/devnet/executive/pool.ts';
import { makeExecutive, sr, ed } from './helpers/devnet.ts';

await cryptoWaitReady();
const alice = sr.addFromUri('//Alice');
const bob = sr.addFromUri('//Bob');
const hex = (p: { publicKey: Uint8Array }) => u8aToHex(p.publicKey);

/** The substrate text of a refused submission, or null when accepted. */
function refusal(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (err) {
    if (err instanceof TxPoolError) return err.data ?? err.rpcMessage;
    throw err;
  }
}

test('executive: genesis is block 0 and a transfer lands in block 1 with FRAME-ordered events', async () => {
  const { ex, runtime, tx, sign, clock } = await makeExecutive();
  assert.equal(ex.chain.best.number, 0);
  const statuses: TxStatus[] = [];
  ex.submit(sign(alice, tx('Balances', 'transfer_keep_alive', hex(bob), 12345n)), (s) => statuses.push(s));
  clock.tick(100);
  clock.tick(1000);
  const best = ex.chain.best;
  assert.equal(best.number, 1);
  assert.equal(best.extrinsics.length, 2);
  assert.deepEqual(statuses, ['ready', { inBlock: best.hash }, { finalized: best.hash }]);
  const events = runtime.registry.createType('Vec<FrameSystemEventRecord>', runtime.state.get(runtime.storageKey('System', 'Events'))) as any;
  const names = events.map((e: any) => `${e.event.section}.${e.event.method}@${JSON.stringify(e.phase.toJSON())}`);
  assert.deepEqual(names, [
    'system.ExtrinsicSuccess@{"applyExtrinsic":0}',
    'balances.Withdraw@{"applyExtrinsic":1}',
    'balances.Transfer@{"applyExtrinsic":1}',
    'transactionPayment.TransactionFeePaid@{"applyExtrinsic":1}',
    'system.ExtrinsicSuccess@{"applyExtrinsic":1}',
  ]);
  assert.equal(ex.accountNonce(hex(alice)), 1);
  assert.equal(freeBalance(runtime.hooks(), hex(bob)), (1n << 60n) + 12345n);
});
