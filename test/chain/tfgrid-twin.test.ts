import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stringToHex } from '@polkadot/util';
import { getTwin, termsAccepted, twinBondedAccount, twinIdOf } from '../../chain/devnet/pallets/tfgrid/queries.ts';
import { call, dev, events, eventNames, makeRuntime, NOW_S, ok, run, signed, snapshot, twin, tx } from './tfgrid-fixtures.ts';

const LINK = 'https://library.threefold.me/info/legal/#/';

test('tfgrid user_accept_tc: appends an entry with the block time and emits no event', () => {
  const rt = makeRuntime();
  ok(call(rt, dev.alice, 'user_accept_tc', LINK, 'garbage'));
  ok(call(rt, dev.alice, 'user_accept_tc', 'https://example.com/tc2', 'hash_2'));
  assert.deepEqual(termsAccepted(rt.hooks(), dev.alice), [
    { accountId: dev.alice, timestamp: NOW_S, documentLink: LINK, documentHash: 'garbage' },
    { accountId: dev.alice, timestamp: NOW_S, documentLink: 'https://example.com/tc2', documentHash: 'hash_2' },
  ]);
  assert.deepEqual(events(rt), []);
});

const badTerms: Array<[string, string, string, string]> = [
  ['an empty link', '', 'h', 'DocumentLinkInputTooShort'],
  ['a link with a space', 'https://x.io/a b', 'h', 'InvalidDocumentLinkInput'],
  ['a link with a quote', 'https://x.io/"', 'h', 'InvalidDocumentLinkInput'],
  ['an empty hash', LINK, '', 'DocumentHashInputTooShort'],
  ['a 51-byte hash', LINK, 'a'.repeat(51), 'Other'],
  ['a hash with a dot', LINK, 'ab.cd', 'InvalidDocumentHashInput'],
];
for (const [what, link, hash, error] of badTerms) {
  test(`tfgrid user_accept_tc: rejects ${what} with ${error}`, () => {
    const rt = makeRuntime();
    const before = snapshot(rt);
    assert.equal(call(rt, dev.alice, 'user_accept_tc', link, hash), error === 'Other' ? 'Other' : `TfgridModule.${error}`);
    assert.deepEqual(snapshot(rt), before);
  });
}

test('tfgrid create_twin: stores the twin, indexes it by account and emits TwinStored', () => {
  const rt = makeRuntime();
  ok(call(rt, dev.alice, 'user_accept_tc', LINK, 'garbage'));
  const pk = '0x' + '02'.repeat(33);
  ok(call(rt, dev.alice, 'create_twin', 'relay.dev.grid.tf', pk));
  const ctx = rt.hooks();
  assert.equal(twinIdOf(ctx, dev.alice), 1);
  assert.deepEqual(getTwin(ctx, 1), { id: 1, accountId: dev.alice, relay: 'relay.dev.grid.tf', entities: [], pk });
  assert.equal((rt.readStorage('TfgridModule', 'TwinID', []) as any).toNumber(), 1);
  const [[name, data]] = events(rt) as any;
  assert.equal(name, 'tfgridModule.TwinStored');
  assert.equal(data[0].id, 1);
  assert.equal(data[0].relay, stringToHex('relay.dev.grid.tf'));
  assert.equal(data[0].pk, pk);
});

test('tfgrid create_twin: ids increase per account and relay/pk may be absent', () => {
  const rt = makeRuntime();
  twin(rt, dev.alice);
  twin(rt, dev.bob, null);
  assert.equal(twinIdOf(rt.hooks(), dev.bob), 2);
  assert.deepEqual(getTwin(rt.hooks(), 2), { id: 2, accountId: dev.bob, relay: null, entities: [], pk: null });
});

test('tfgrid create_twin: requires accepted terms (UserDidNotSignTermsAndConditions)', () => {
  const rt = makeRuntime();
  const before = snapshot(rt);
  assert.equal(call(rt, dev.alice, 'create_twin', 'relay.io', null), 'TfgridModule.UserDidNotSignTermsAndConditions');
  assert.deepEqual(snapshot(rt), before);
});

test('tfgrid create_twin: one twin per account (TwinWithPubkeyExists)', () => {
  const rt = makeRuntime();
  twin(rt, dev.alice);
  const before = snapshot(rt);
  assert.equal(call(rt, dev.alice, 'create_twin', 'relay.io', null), 'TfgridModule.TwinWithPubkeyExists');
  assert.deepEqual(snapshot(rt), before);
});

const relays: Array<[string, boolean]> = [
  ['relay.grid.tf', true],
  ['my_relay-1.example.com', true],
  ['localhost', true],
  ['relay.grid.tf_relay2.grid.tf', true],
  ['', false],
  ['.relay.io', false],
  ['relay.io.', false],
  ['relay..io', false],
  ['relay.io:443', false],
  ['wss://relay.io', false],
  ['relay io', false],
];
for (const [relay, valid] of relays) {
  test(`tfgrid create_twin: relay ${JSON.stringify(relay)} is ${valid ? 'accepted' : 'rejected with InvalidRelayAddress'}`, () => {
    const rt = makeRuntime();
    ok(call(rt, dev.alice, 'user_accept_tc', LINK, 'garbage'));
    assert.equal(call(rt, dev.alice, 'create_twin', relay, null), valid ? null : 'TfgridModule.InvalidRelayAddress');
    assert.equal(twinIdOf(rt.hooks(), dev.alice), valid ? 1 : null);
  });
}

test('tfgrid create_twin: refuses a pk over 128 bytes and a relay over 1024 bytes (undecodable on tfchain)', () => {
  const rt = makeRuntime();
  ok(call(rt, dev.alice, 'user_accept_tc', LINK, 'garbage'));
  assert.equal(call(rt, dev.alice, 'create_twin', null, '0x' + '01'.repeat(129)), 'Other');
  assert.equal(call(rt, dev.alice, 'create_twin', 'a'.repeat(1025), null), 'Other');
  ok(call(rt, dev.alice, 'create_twin', 'a'.repeat(1024), '0x' + '01'.repeat(128)));
});

test('tfgrid update_twin: replaces relay and pk and emits TwinUpdated', () => {
  const rt = makeRuntime();
  twin(rt, dev.alice);
  rt.resetEvents();
  ok(call(rt, dev.alice, 'update_twin', 'relay.other.io', '0xabcd'));
  assert.deepEqual(getTwin(rt.hooks(), 1), { id: 1, accountId: dev.alice, relay: 'relay.other.io', entities: [], pk: '0xabcd' });
  assert.deepEqual(eventNames(rt), ['tfgridModule.TwinUpdated']);
  ok(call(rt, dev.alice, 'update_twin', null, null));
  assert.equal(getTwin(rt.hooks(), 1)?.relay, null);
});

test('tfgrid update_twin: fails with TwinNotExists without a twin and InvalidRelayAddress on a bad relay', () => {
  const rt = makeRuntime();
  assert.equal(call(rt, dev.alice, 'update_twin', 'relay.io', null), 'TfgridModule.TwinNotExists');
  twin(rt, dev.alice);
  const before = snapshot(rt);
  assert.equal(call(rt, dev.alice, 'update_twin', 'bad relay', null), 'TfgridModule.InvalidRelayAddress');
  assert.deepEqual(snapshot(rt), before);
});

test('tfgrid bond_twin_account: bonds another account to a twin and emits TwinAccountBounded', () => {
  const rt = makeRuntime();
  twin(rt, dev.alice);
  rt.resetEvents();
  ok(call(rt, dev.bob, 'bond_twin_account', 1));
  assert.equal(twinBondedAccount(rt.hooks(), 1), dev.bob);
  assert.deepEqual(eventNames(rt), ['tfgridModule.TwinAccountBounded']);
});

test('tfgrid bond_twin_account: rejects a missing twin and the twin own account', () => {
  const rt = makeRuntime();
  assert.equal(call(rt, dev.bob, 'bond_twin_account', 7), 'TfgridModule.TwinNotExists');
  twin(rt, dev.alice);
  assert.equal(call(rt, dev.alice, 'bond_twin_account', 1), 'TfgridModule.TwinCannotBoundToItself');
  assert.equal(twinBondedAccount(rt.hooks(), 1), null);
});


test('tfgrid in batch_all: T&C and twin land together, and a bad relay rolls back the accepted T&C too', () => {
  const rt = makeRuntime();
  const accept = tx(rt, 'TfgridModule', 'user_accept_tc', LINK, 'garbage');
  const bad = tx(rt, 'TfgridModule', 'create_twin', 'bad relay', null);
  assert.equal(run(rt, signed(dev.alice), tx(rt, 'Utility', 'batch_all', [accept, bad])), 'TfgridModule.InvalidRelayAddress');
  assert.deepEqual(termsAccepted(rt.hooks(), dev.alice), []);
  const good = tx(rt, 'TfgridModule', 'create_twin', 'relay.io', null);
  ok(run(rt, signed(dev.alice), tx(rt, 'Utility', 'batch_all', [accept, good])));
  assert.equal(twinIdOf(rt.hooks(), dev.alice), 1);
  assert.deepEqual(eventNames(rt), ['utility.ItemCompleted', 'tfgridModule.TwinStored', 'utility.ItemCompleted', 'utility.BatchCompleted']);
});
