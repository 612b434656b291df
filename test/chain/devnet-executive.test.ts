import { test } from 'node:test';
import assert from 'node:assert/strict';
import { u8aToHex } from '@polkadot/util';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { freeBalance } from '../../chain/devnet/pallets/balances.ts';
import { TxPoolError } from '../../chain/devnet/executive/errors.ts';
import type { TxStatus } from '../../chain/devnet/executive/pool.ts';
import { Executive, FINALITY_DELAY_MS } from '../../chain/devnet/executive/executive.ts';
import { DEVNET_MAX_AHEAD_MS } from '../../chain/devnet/pace.ts';
import { silentLogger } from '../../lib/log.ts';
import { devGenesis } from '../../chain/devnet/genesis.ts';
import { devnetPallets } from '../../chain/devnet/pallets/index.ts';
import { Runtime } from '../../chain/devnet/runtime/runtime.ts';
import { makeExecutive, ManualClock, sr, ed } from './helpers/devnet.ts';

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
  clock.tick(FINALITY_DELAY_MS);
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

/** Flips a byte of the signature (after the compact length, version byte, MultiAddress::Id and signature type). */
function corruptSignature(bytes: Uint8Array): Uint8Array {
  const prefix = [1, 2, 4][bytes[0]! & 3]!;
  const out = bytes.slice();
  out[prefix + 1 + 1 + 32 + 1 + 5]! ^= 0xff;
  return out;
}

test('executive: refuses bad extrinsics with substrate texts and leaves state untouched', async () => {
  const { ex, runtime, tx, sign, clock } = await makeExecutive();
  // Move the chain on so there is history for mortal eras and a used nonce.
  ex.submit(sign(alice, tx('Balances', 'transfer_keep_alive', hex(bob), 1000n)));
  clock.tick(100);
  ex.newBlocks(4);
  assert.equal(ex.chain.best.number, 5);
  const transfer = tx('Balances', 'transfer_keep_alive', hex(bob), 1n);
  const poor = sr.addFromUri('//Poor');
  const cases: Array<{ name: string; bytes: () => Uint8Array; want: string }> = [
    { name: 'bad signature', bytes: () => corruptSignature(sign(alice, transfer)), want: 'Transaction has a bad signature' },
    { name: 'stale nonce', bytes: () => sign(alice, transfer, { nonce: 0 }), want: 'Transaction is outdated' },
    { name: 'wrong genesis hash', bytes: () => sign(alice, transfer, { genesisHash: `0x${'ab'.repeat(32)}` }), want: 'Transaction has a bad signature' },
    { name: 'wrong spec version', bytes: () => sign(alice, transfer, { specVersion: 151 }), want: 'Transaction has a bad signature' },
    { name: 'wrong transaction version', bytes: () => sign(alice, transfer, { transactionVersion: 1 }), want: 'Transaction has a bad signature' },
    { name: 'mortal era with a wrong birth hash', bytes: () => sign(alice, transfer, { era: { birth: 4, period: 64 }, blockHash: ex.chain.hashOf(3) }), want: 'Transaction has a bad signature' },
    { name: 'expired mortal era', bytes: () => sign(alice, transfer, { era: { birth: 1, period: 4 } }), want: 'Transaction is outdated' },
    { name: 'unfunded account', bytes: () => sign(poor, transfer, { nonce: 0 }), want: 'Inability to pay some fees (e.g. account balance too low)' },
    { name: 'unsigned extrinsic', bytes: () => runtime.registry.createType('Extrinsic', transfer).toU8a(), want: 'Could not find an unsigned validator for the unsigned transaction' },
    { name: 'garbage bytes', bytes: () => new Uint8Array([8, 0x84, 1]), want: 'Extrinsic has invalid format' },
    { name: 'trailing bytes', bytes: () => new Uint8Array([...sign(alice, transfer), 0]), want: 'Extrinsic has invalid format: 1 trailing bytes' },
  ];
  const before = runtime.state.snapshot();
  for (const tc of cases) {
    const got = refusal(() => ex.submit(tc.bytes()));
    assert.ok(got?.startsWith(tc.want), `${tc.name}: got ${got}`);
  }
  assert.deepEqual(runtime.state.snapshot(), before);
  assert.equal(ex.pool.size, 0);
});

test('executive: refusals carry JSON-RPC code 1010 with the substrate text as data', async () => {
  const { ex, tx, sign } = await makeExecutive();
  try {
    ex.submit(sign(sr.addFromUri('//Poor'), tx('Balances', 'transfer_keep_alive', hex(bob), 1n), { nonce: 0 }));
    assert.fail('accepted');
  } catch (err) {
    assert.deepEqual((err as TxPoolError).toRpc(), { code: 1010, message: 'Invalid Transaction', data: 'Inability to pay some fees (e.g. account balance too low)' });
  }
});

test('executive: a future nonce waits in the pool until the gap fills', async () => {
  const { ex, tx, sign, clock } = await makeExecutive();
  const transfer = tx('Balances', 'transfer_keep_alive', hex(bob), 1n);
  const statuses: string[] = [];
  assert.equal(ex.submit(sign(alice, transfer, { nonce: 1 }), (s) => statuses.push(JSON.stringify(s))).status, 'future');
  clock.tick(100);
  assert.equal(ex.chain.best.number, 0, 'a future tx alone does not seal a block');
  assert.equal(ex.nextIndex(hex(alice)), 0);
  assert.equal(ex.submit(sign(alice, transfer, { nonce: 0 })).status, 'ready');
  assert.equal(ex.nextIndex(hex(alice)), 2);
  clock.tick(100);
  assert.equal(ex.chain.best.number, 1);
  assert.equal(ex.chain.best.extrinsics.length, 3);
  assert.equal(ex.accountNonce(hex(alice)), 2);
  assert.deepEqual(statuses.slice(0, 3), ['"future"', '"ready"', JSON.stringify({ inBlock: ex.chain.best.hash })]);
});

test('executive: a resubmitted tx is refused as already imported, a same-nonce tx needs a higher tip', async () => {
  const { ex, tx, sign } = await makeExecutive();
  const bytes = sign(alice, tx('Balances', 'transfer_keep_alive', hex(bob), 1n), { nonce: 0 });
  const first: string[] = [];
  ex.submit(bytes, (s) => first.push(JSON.stringify(s)));
  assert.equal(refusal(() => ex.submit(bytes)), 'Transaction Already Imported');
  assert.match(refusal(() => ex.submit(sign(alice, tx('Balances', 'transfer_keep_alive', hex(bob), 2n), { nonce: 0 })))!, /too low priority/);
  const { hash } = ex.submit(sign(alice, tx('Balances', 'transfer_keep_alive', hex(bob), 3n), { nonce: 0, tip: 10n }));
  assert.equal(ex.pool.size, 1);
  assert.deepEqual(first, ['"ready"', JSON.stringify({ usurped: hash })]);
});

test('executive: a failed dispatch keeps the fee and nonce and emits ExtrinsicFailed', async () => {
  const { ex, runtime, tx, sign, clock } = await makeExecutive();
  const before = freeBalance(runtime.hooks(), hex(alice));
  ex.submit(sign(alice, tx('Balances', 'transfer_keep_alive', hex(bob), 1n << 62n)));
  clock.tick(100);
  assert.equal(ex.accountNonce(hex(alice)), 1);
  assert.ok(freeBalance(runtime.hooks(), hex(alice)) < before, 'fee charged');
  assert.equal(freeBalance(runtime.hooks(), hex(bob)), 1n << 60n);
  const events = runtime.registry.createType('Vec<FrameSystemEventRecord>', runtime.state.get(runtime.storageKey('System', 'Events'))) as any;
  const last = events[events.length - 1].event;
  assert.equal(`${last.section}.${last.method}`, 'system.ExtrinsicFailed');
  assert.deepEqual(last.data[0].toJSON(), { token: 'FundsUnavailable' });
});

test('executive: Pays::No calls are not charged', async () => {
  const { ex, runtime, tx, sign, clock } = await makeExecutive();
  const before = freeBalance(runtime.hooks(), hex(alice));
  ex.submit(sign(alice, tx('Timestamp', 'set', 5)));
  clock.tick(100);
  assert.equal(freeBalance(runtime.hooks(), hex(alice)), before);
  const events = runtime.registry.createType('Vec<FrameSystemEventRecord>', runtime.state.get(runtime.storageKey('System', 'Events'))) as any;
  const names = events.map((e: any) => `${e.event.section}.${e.event.method}`);
  assert.deepEqual(names.slice(1), ['transactionPayment.TransactionFeePaid', 'system.ExtrinsicFailed']);
  assert.equal(events[1].event.data[1].toBigInt(), 0n);
});

test('executive: timestamps follow the clock, at least MinimumPeriod apart, plus time travel', async () => {
  const { ex, runtime, clock } = await makeExecutive();
  ex.newBlocks(1);
  assert.equal(runtime.nowMs(), clock.now());
  ex.newBlocks(1);
  assert.equal(runtime.nowMs(), clock.now() + 3000);
  // byMs moves on from where sealed blocks put chain time, not from the wall clock.
  assert.equal(ex.timeTravel({ byMs: 3_600_000 }), clock.now() + 3_603_000);
  assert.equal(ex.timeTravel({ toMs: clock.now() + 7_200_000 }), clock.now() + 7_200_000);
});

test('executive: a burst of instant blocks stops 50 s ahead of the clock (zos devnet, zos up); what arrives meanwhile shares one block', async () => {
  const { ex, runtime, tx, sign, clock } = await makeExecutive([], DEVNET_MAX_AHEAD_MS);
  const transfer = tx('Balances', 'transfer_keep_alive', hex(bob), 1n);
  let nonce = 0;
  // Each instant block moves chain time 3 s (MinimumPeriod) while the wall clock moves 0.1 s.
  for (let i = 0; i < 19; i++) {
    ex.submit(sign(alice, transfer, { nonce: nonce++ }));
    clock.tick(100);
  }
  const paced = ex.chain.best.number;
  assert.ok(paced >= 17 && paced < 19, `sealed ${paced} of 19 at once`);
  assert.ok(runtime.nowMs() - clock.now() <= 50_000, `chain ${runtime.nowMs() - clock.now()} ms ahead`);
  for (let i = 0; i < 5; i++) ex.submit(sign(alice, transfer, { nonce: nonce++ }));
  clock.tick(100);
  assert.equal(ex.chain.best.number, paced, 'nothing sealed while ahead');
  clock.tick(5_000);
  assert.equal(ex.chain.best.number, paced + 1);
  assert.equal(ex.accountNonce(hex(alice)), nonce, 'every waiting transfer is in that one block');
  assert.ok(runtime.nowMs() - clock.now() <= 53_000);
  // Explicit seals (dev RPC, tests) are never paced, and the chain time they add counts as time
  // travel: the next instant block does not wait for the wall clock to catch up with them.
  ex.newBlocks(30);
  assert.equal(ex.chain.best.number, paced + 31);
  ex.submit(sign(alice, transfer, { nonce: nonce++ }));
  clock.tick(100);
  assert.equal(ex.chain.best.number, paced + 32);
});

test('executive: ed25519 signatures are verified too', async () => {
  const edPair = ed.addFromUri('//EdExec');
  const { ex, tx, sign, clock } = await makeExecutive([[hex(edPair), 10n ** 12n]]);
  ex.submit(sign(edPair, tx('Balances', 'transfer_keep_alive', hex(bob), 1n)));
  assert.equal(refusal(() => ex.submit(corruptSignature(sign(edPair, tx('Balances', 'transfer_keep_alive', hex(bob), 2n))))), 'Transaction has a bad signature');
  clock.tick(100);
  assert.equal(ex.accountNonce(hex(edPair)), 1);
});

test('executive: --block-ms seals empty blocks on the timer until closed', async () => {
  const runtime = new Runtime(devnetPallets(await devGenesis()));
  const clock = new ManualClock();
  const ex = new Executive({ runtime, clock, logger: silentLogger(), blockMs: 1000 });
  ex.start();
  const start = ex.chain.best.number;
  clock.tick(1000);
  clock.tick(1000);
  assert.equal(ex.chain.best.number, start + 2);
  await ex.close();
  await ex.close();
  clock.tick(5000);
  assert.equal(ex.chain.best.number, start + 2);
  assert.throws(() => ex.newBlocks(1), /closed/);
});
