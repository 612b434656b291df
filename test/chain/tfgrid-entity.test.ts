import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Keyring } from '@polkadot/keyring';
import { u8aToHex } from '@polkadot/util';
import { entityMessage, twinEntityMessage } from '../../chain/devnet/pallets/tfgrid/entity.ts';
import { getTwin } from '../../chain/devnet/pallets/tfgrid/queries.ts';
import type { Runtime } from '../../chain/devnet/runtime/runtime.ts';
import { call, dev, eventNames, keyring, makeRuntime, ok, snapshot, twin } from './tfgrid-fixtures.ts';

const ed = new Keyring({ type: 'ed25519' }).addFromUri('//Entity');
const sr = keyring.addFromUri('//SrEntity');
/** tfchain takes signatures as 128 hex characters without 0x. */
const sigText = (sig: Uint8Array) => u8aToHex(sig).slice(2);

const entityJson = (rt: Runtime, id: number) => rt.readStorage('TfgridModule', 'Entities', [id])?.toHuman() as any;

for (const [scheme, pair] of [['ed25519', ed], ['sr25519', sr]] as const) {
  test(`tfgrid create_entity: stores an entity signed with ${scheme} (EntityStored)`, () => {
    const rt = makeRuntime();
    const target = u8aToHex(pair.publicKey);
    const signature = sigText(pair.sign(entityMessage('acme', 'Belgium', 'Ghent')));
    ok(call(rt, dev.alice, 'create_entity', target, 'acme', 'Belgium', 'Ghent', signature));
    const e = entityJson(rt, 1);
    assert.deepEqual([e.version, e.id, e.name, e.country, e.city], ['1', '1', 'acme', 'Belgium', 'Ghent']);
    assert.equal((rt.readStorage('TfgridModule', 'EntityIdByAccountID', [target]) as any).toNumber(), 1);
    assert.deepEqual(eventNames(rt), ['tfgridModule.EntityStored']);
  });
}

test('tfgrid create_entity: rejects bad signatures, duplicate names and keys', () => {
  const rt = makeRuntime();
  const target = u8aToHex(ed.publicKey);
  const good = sigText(ed.sign(entityMessage('acme', 'Belgium', 'Ghent')));
  const before = snapshot(rt);
  assert.equal(call(rt, dev.alice, 'create_entity', target, 'acme', 'Belgium', 'Ghent', good.slice(2)), 'TfgridModule.SignatureLengthIsIncorrect');
  assert.equal(call(rt, dev.alice, 'create_entity', target, 'acme', 'Belgium', 'Gent', good), 'TfgridModule.EntitySignatureDoesNotMatch');
  assert.equal(call(rt, dev.alice, 'create_entity', target, 'acme', 'Belgium', 'Ghent', 'zz'.repeat(64)), 'Other');
  assert.deepEqual(snapshot(rt), before);
  ok(call(rt, dev.alice, 'create_entity', target, 'acme', 'Belgium', 'Ghent', good));
  assert.equal(call(rt, dev.alice, 'create_entity', target, 'acme', 'Belgium', 'Ghent', good), 'TfgridModule.EntityWithNameExists');
  assert.equal(call(rt, dev.alice, 'create_entity', target, 'acme2', 'Belgium', 'Ghent', good), 'TfgridModule.EntityWithPubkeyExists');
});

test('tfgrid update_entity / delete_entity: the entity account renames and deletes it', () => {
  const rt = makeRuntime();
  const target = u8aToHex(sr.publicKey);
  ok(call(rt, dev.alice, 'create_entity', target, 'acme', 'Belgium', 'Ghent', sigText(sr.sign(entityMessage('acme', 'Belgium', 'Ghent')))));
  assert.equal(call(rt, dev.alice, 'update_entity', 'acme2', 'Belgium', 'Gent'), 'TfgridModule.EntityNotExists');
  ok(call(rt, target, 'update_entity', 'acme2', 'BE', 'Gent'));
  assert.deepEqual([entityJson(rt, 1).name, entityJson(rt, 1).country], ['acme2', 'BE']);
  assert.equal(call(rt, target, 'update_entity', 'acme3', 'B', 'Gent'), 'TfgridModule.CountryNameTooShort');
  ok(call(rt, target, 'delete_entity'));
  assert.equal(rt.readStorage('TfgridModule', 'Entities', [1]), null);
  assert.equal(rt.hasStorage('TfgridModule', 'EntityIdByName', ['acme2']), false);
  assert.deepEqual(eventNames(rt).slice(1), ['tfgridModule.EntityUpdated', 'tfgridModule.EntityDeleted']);
});

test('tfgrid add_twin_entity / delete_twin_entity: link an entity proof to a twin and remove it', () => {
  const rt = makeRuntime();
  const target = u8aToHex(ed.publicKey);
  ok(call(rt, dev.alice, 'create_entity', target, 'acme', 'Belgium', 'Ghent', sigText(ed.sign(entityMessage('acme', 'Belgium', 'Ghent')))));
  twin(rt, dev.bob);
  const proof = sigText(ed.sign(twinEntityMessage(1, 1)));
  assert.equal(call(rt, dev.alice, 'add_twin_entity', 1, 1, proof), 'TfgridModule.UnauthorizedToUpdateTwin');
  assert.equal(call(rt, dev.bob, 'add_twin_entity', 1, 1, sigText(ed.sign(twinEntityMessage(1, 2)))), 'TfgridModule.EntitySignatureDoesNotMatch');
  ok(call(rt, dev.bob, 'add_twin_entity', 1, 1, proof));
  assert.deepEqual(getTwin(rt.hooks(), 1)?.entities, [{ entityId: 1, signature: u8aToHex(new TextEncoder().encode(proof)) }]);
  assert.equal(call(rt, dev.bob, 'add_twin_entity', 1, 1, proof), 'TfgridModule.EntityWithSignatureAlreadyExists');
  assert.equal(call(rt, dev.bob, 'delete_twin_entity', 1, 2), 'TfgridModule.EntityNotExists');
  ok(call(rt, dev.bob, 'delete_twin_entity', 1, 1));
  assert.deepEqual(getTwin(rt.hooks(), 1)?.entities, []);
  assert.deepEqual(eventNames(rt).slice(-2), ['tfgridModule.TwinEntityStored', 'tfgridModule.TwinEntityRemoved']);
});
