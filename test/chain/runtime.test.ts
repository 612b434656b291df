import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeRuntime, tx, run, signed, dev, events, DEV_BALANCE } from './helpers/runtime.ts';
import { freeBalance } from '../../chain/devnet/pallets/balances.ts';

test('runtime: genesis funds the dev accounts and sets total issuance', () => {
  const rt = makeRuntime();
  assert.equal(freeBalance(rt.hooks(), dev.alice), DEV_BALANCE);
  assert.equal((rt.readStorage('Balances', 'TotalIssuance', []) as any).toBigInt(), DEV_BALANCE * 3n);
});

test('runtime: transfer moves funds and emits Transfer', () => {
  const rt = makeRuntime();
  assert.equal(run(rt, signed(dev.alice), tx(rt, 'Balances', 'transfer_keep_alive', dev.bob, 1000n)), null);
  assert.equal(freeBalance(rt.hooks(), dev.bob), DEV_BALANCE + 1000n);
  assert.deepEqual(events(rt).map((e) => e[0]), ['balances.Transfer']);
});

test('runtime: a failed call rolls back its writes and events', () => {
  const rt = makeRuntime();
  const err = run(rt, signed(dev.alice), tx(rt, 'Balances', 'transfer_keep_alive', dev.bob, DEV_BALANCE));
  assert.equal(err, 'Token.NotExpendable');
  assert.equal(freeBalance(rt.hooks(), dev.alice), DEV_BALANCE);
  assert.deepEqual(events(rt), []);
});

test('runtime: batch_all rolls back every item when one fails', () => {
  const rt = makeRuntime();
  const ok = tx(rt, 'Balances', 'transfer_keep_alive', dev.bob, 1000n);
  const bad = tx(rt, 'Balances', 'transfer_keep_alive', dev.bob, DEV_BALANCE * 2n);
  assert.equal(run(rt, signed(dev.alice), tx(rt, 'Utility', 'batch_all', [ok, bad])), 'Token.FundsUnavailable');
  assert.equal(freeBalance(rt.hooks(), dev.bob), DEV_BALANCE);
  assert.deepEqual(events(rt), []);
});

test('runtime: batch stops at the first failure and reports BatchInterrupted', () => {
  const rt = makeRuntime();
  const ok = tx(rt, 'Balances', 'transfer_keep_alive', dev.bob, 1000n);
  const bad = tx(rt, 'Balances', 'transfer_keep_alive', dev.bob, DEV_BALANCE * 2n);
  assert.equal(run(rt, signed(dev.alice), tx(rt, 'Utility', 'batch', [ok, bad, ok])), null);
  assert.equal(freeBalance(rt.hooks(), dev.bob), DEV_BALANCE + 1000n);
  assert.deepEqual(events(rt).map((e) => e[0]), ['balances.Transfer', 'utility.ItemCompleted', 'utility.BatchInterrupted']);
});

test('runtime: root-only calls reject signed origins with BadOrigin', () => {
  const rt = makeRuntime();
  assert.equal(run(rt, signed(dev.alice), tx(rt, 'Balances', 'force_set_balance', dev.bob, 1n)), 'BadOrigin');
});

test('runtime: storage iteration decodes map keys', () => {
  const rt = makeRuntime();
  const keys = rt.iterateStorage('System', 'Account', []).map((e) => e.keys[0]!.toHex()).sort();
  assert.deepEqual(keys, [dev.alice, dev.bob, dev.charlie].sort());
});
