import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { ApiPromise, WsProvider } from '@polkadot/api';
import type { SubmittableExtrinsic } from '@polkadot/api/types';
import type { KeyringPair } from '@polkadot/keyring/types';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { Devnet, DEV_BALANCE } from '../../chain/devnet/index.ts';
import { sr, ed } from './helpers/devnet.ts';

await cryptoWaitReady();
const alice = sr.addFromUri('//Alice');
const bob = sr.addFromUri('//Bob');

let devnet: Devnet;
let api: ApiPromise;

before(async () => {
  devnet = new Devnet({ port: 0 });
  const url = await devnet.start();
  api = await ApiPromise.create({ provider: new WsProvider(url), noInitWarn: true, throwOnConnect: true });
});

after(async () => {
  await api?.disconnect();
  await devnet?.close();
});

interface Outcome {
  inBlock: string;
  finalized: string;
  events: string[];
  failed?: { section: string; name: string };
}

/** signAndSend until finalized; collects the tx's events and a decoded module error. */
function send(tx: SubmittableExtrinsic<'promise'>, signer: KeyringPair): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    let inBlock = '';
    tx.signAndSend(signer, ({ status, events, dispatchError }) => {
      if (status.isInBlock) inBlock = status.asInBlock.toHex();
      if (!status.isFinalized) return;
      const out: Outcome = { inBlock, finalized: status.asFinalized.toHex(), events: events.map((e) => `${e.event.section}.${e.event.method}`) };
      if (dispatchError?.isModule) {
        const meta = api.registry.findMetaError(dispatchError.asModule);
        out.failed = { section: meta.section, name: meta.name };
      }
      resolve(out);
    }).catch(reject);
  });
}

test('polkadot-api: connects with the generated metadata and reads dev balances', async () => {
  assert.equal(api.runtimeVersion.specVersion.toNumber(), 152);
  assert.equal(api.registry.chainSS58, 42);
  assert.equal(api.registry.chainDecimals[0], 7);
  assert.deepEqual(api.registry.chainTokens, ['TFT']);
  const acct = (await api.query.system.account(alice.address)) as any;
  assert.equal(acct.data.free.toBigInt() <= DEV_BALANCE, true);
  assert.equal(api.genesisHash.toHex(), devnet.chain.chain.genesis.hash);
});

test('polkadot-api: an sr25519 transfer reaches inBlock and finalized with Transfer and ExtrinsicSuccess', async () => {
  const before = ((await api.query.system.account(bob.address)) as any).data.free.toBigInt();
  const out = await send(api.tx.balances.transferKeepAlive(bob.address, 1_000_000n), alice);
  assert.equal(out.inBlock, out.finalized);
  assert.deepEqual(out.events, ['balances.Withdraw', 'balances.Transfer', 'transactionPayment.TransactionFeePaid', 'system.ExtrinsicSuccess']);
  const afterBal = ((await api.query.system.account(bob.address)) as any).data.free.toBigInt();
  assert.equal(afterBal - before, 1_000_000n);
});

test('polkadot-api: an ed25519 account, once funded, can sign transfers', async () => {
  const edPair = ed.addFromUri('//EdUser');
  await send(api.tx.balances.transferKeepAlive(edPair.address, 10_000_000_000n), alice);
  const out = await send(api.tx.balances.transferKeepAlive(bob.address, 1_000n), edPair);
  assert.ok(out.events.includes('balances.Transfer'));
  assert.ok(out.events.includes('system.ExtrinsicSuccess'));
  const nonce = await api.rpc.system.accountNextIndex(edPair.address);
  assert.equal(nonce.toNumber(), 1);
});

test('polkadot-api: utility.batchAll runs every call', async () => {
  const charlie = sr.addFromUri('//Charlie');
  const out = await send(api.tx.utility.batchAll([api.tx.balances.transferKeepAlive(bob.address, 1n << 20n), api.tx.balances.transferKeepAlive(charlie.address, 1n << 20n)]), alice);
  assert.deepEqual(out.events.filter((e) => e.startsWith('utility.')), ['utility.ItemCompleted', 'utility.ItemCompleted', 'utility.BatchCompleted']);
  assert.equal(out.events.filter((e) => e === 'balances.Transfer').length, 2);
});

test('polkadot-api: a failing call gives ExtrinsicFailed with a decodable module error', async () => {
  // Timestamp.set is an inherent: a signed origin is filtered with a System module error.
  const out = await send(api.tx.utility.batchAll([api.tx.balances.transferKeepAlive(bob.address, 1n << 20n), api.tx.timestamp.set(0)]), alice);
  assert.equal(out.events.at(-1), 'system.ExtrinsicFailed');
  assert.deepEqual(out.failed, { section: 'system', name: 'CallFiltered' });
  assert.ok(!out.events.includes('balances.Transfer'), 'batchAll rolled back the transfer');
});

test('polkadot-api: an unfunded account is refused with the fee error', async () => {
  const poor = sr.addFromUri('//Poor');
  await assert.rejects(api.tx.balances.transferKeepAlive(bob.address, 1n).signAndSend(poor), /1010: Invalid Transaction: Inability to pay some fees/);
});

test('polkadot-api: newHeads subscription sees the next blocks', async () => {
  const seen: number[] = [];
  const unsub = await api.rpc.chain.subscribeNewHeads((h) => {
    seen.push(h.number.toNumber());
  });
  const start = devnet.chain.chain.best.number;
  devnet.chain.newBlocks(2);
  for (let i = 0; i < 50 && !seen.includes(start + 2); i++) await new Promise((r) => setTimeout(r, 20));
  unsub();
  assert.ok(seen.includes(start + 2), `saw ${seen.join(',')}`);
});

test('polkadot-api: paymentInfo and nonce -1 go through state_call runtime APIs', async () => {
  const info = await api.tx.balances.transferKeepAlive(bob.address, 1n).paymentInfo(alice);
  assert.ok(info.partialFee.toBigInt() > 0n);
  const events = (await api.query.system.events()) as any;
  assert.ok(events.length > 0);
});
