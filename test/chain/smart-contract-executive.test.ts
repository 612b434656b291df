import { test } from 'node:test';
import assert from 'node:assert/strict';
import { u8aToHex } from '@polkadot/util';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { Call } from '@polkadot/types/interfaces';
import { makeExecutive, sr } from './helpers/devnet.ts';
import { HASH_A } from './smart-contract-fixtures.ts';
import { INTERFACES, LOCATION, PUBLIC_IP, RESOURCES } from './tfgrid-fixtures.ts';

await cryptoWaitReady();
const alice = sr.addFromUri('//Alice');
const bob = sr.addFromUri('//Bob');

test('executive: a node contract made through signed extrinsics is billed by the blocks on_finalize seals', async (t) => {
  const { ex, runtime, tx, sign } = await makeExecutive();
  t.after(() => ex.close());
  const blockEvents: string[][] = [];
  ex.onBlock(() => {
    const records = runtime.registry.createType('Vec<FrameSystemEventRecord>', runtime.state.get(runtime.storageKey('System', 'Events'))) as any;
    blockEvents.push(records.map((r: any) => `${r.event.section}.${r.event.method}`));
  });
  /** Submits, seals one block and checks the extrinsic did not fail. */
  const send = (pair: KeyringPair, call: Call) => {
    ex.submit(sign(pair, call));
    ex.newBlocks(1);
    assert.ok(!blockEvents.at(-1)!.includes('system.ExtrinsicFailed'), `${call.section}.${call.method} failed`);
  };
  for (const pair of [alice, bob]) {
    send(pair, tx('TfgridModule', 'user_accept_tc', 'https://library.threefold.me/info/legal/#/', 'garbage'));
    send(pair, tx('TfgridModule', 'create_twin', 'relay.dev.grid.tf', null));
  }
  send(alice, tx('TfgridModule', 'create_farm', 'farm1', [PUBLIC_IP]));
  send(bob, tx('TfgridModule', 'create_node', 1, RESOURCES, LOCATION, INTERFACES, false, false, 'SN-1'));
  send(alice, tx('SmartContractModule', 'create_node_contract', 1, HASH_A, 'data', 1, null));
  assert.ok(blockEvents.at(-1)!.includes('smartContractModule.ContractCreated'));
  const reservedBefore = (runtime.readStorage('System', 'Account', [u8aToHex(alice.publicKey)]) as any).data.reserved.toBigInt();

  ex.newBlocks(10);
  const billed = blockEvents.slice(-10).filter((names) => names.includes('smartContractModule.ContractBilled'));
  assert.equal(billed.length, 1, 'billed once per round of BillingFrequency (10) blocks');
  const reserved = (runtime.readStorage('System', 'Account', [u8aToHex(alice.publicKey)]) as any).data.reserved.toBigInt();
  assert.ok(reserved > reservedBefore, 'the bill moved funds into the reserve');
});
