/**
 * Entities (14-16) and twin entity proofs (19, 20). An entity is created for a
 * target account that signs name‖country‖city (ed25519 or sr25519, 64 bytes given
 * as 128 hex characters); a twin links an entity with the entity's signature of
 * entity_id‖twin_id (u32 big-endian each).
 */
import { hexToU8a, isHex, stringToU8a, u8aConcat } from '@polkadot/util';
import { ed25519Verify, sr25519Verify } from '@polkadot/util-crypto';
import { AccountId32 } from '../../metadata/common-types.ts';
import type { CallContext } from '../../runtime/context.ts';
import { DispatchFailure } from '../../runtime/errors.ts';
import type { CallArgs, CallDecl } from '../../runtime/pallet.ts';
import { bytesArg, ensure, fail, num, strictText, text, u32Arg, vecArg } from './call-kit.ts';
import { bytesOf, textOf, type Hex } from './model.ts';
import { getTwin, putTwin, TFGRID } from './queries.ts';
import { LIMITS, byteLength } from './validate.ts';

const ENTITY_VERSION = 1;

interface EntityInfo {
  version: number;
  id: number;
  name: string;
  accountId: Hex;
  country: string;
  city: string;
}

function getEntity(ctx: CallContext, id: number): EntityInfo | null {
  const c = ctx.store(TFGRID).get('Entities', id) as any;
  if (c === null) return null;
  const j = c.toJSON();
  return { version: j.version, id: j.id, name: textOf(j.name), accountId: c.accountId.toHex(), country: textOf(j.country), city: textOf(j.city) };
}

const entityInput = (e: EntityInfo) => ({ ...e, name: bytesOf(e.name), country: bytesOf(e.country), city: bytesOf(e.city) });

/** 64 signature bytes from their 128-character hex text (SignatureLengthIsIncorrect otherwise). */
function signatureBytes(signatureText: string): Uint8Array {
  ensure(byteLength(signatureText) === 128, 'SignatureLengthIsIncorrect');
  // tfchain panics ("Decoding failed") on non-hex text; the extrinsic fails without a module error.
  if (!isHex(`0x${signatureText}`)) throw new DispatchFailure('Other', undefined, undefined, 'Decoding failed');
  return hexToU8a(`0x${signatureText}`);
}

/** ed25519 or sr25519 signature by `account`; a malformed signature is simply not a match. */
function verify(signature: Uint8Array, account: Hex, message: Uint8Array): boolean {
  const key = hexToU8a(account);
  const attempt = (check: () => boolean) => {
    try {
      return check();
    } catch {
      return false;
    }
  };
  return attempt(() => ed25519Verify(message, signature, key)) || attempt(() => sr25519Verify(message, signature, key));
}

/** Validated country and city, as CountryName/CityName do. */
function place(args: CallArgs): { country: string; city: string } {
  const country = strictText(args.country!) ?? fail('InvalidCountryName');
  const city = strictText(args.city!) ?? fail('InvalidCityName');
  ensure(byteLength(country) >= LIMITS.country[0], 'CountryNameTooShort');
  ensure(byteLength(country) <= LIMITS.country[1], 'CountryNameTooLong');
  ensure(byteLength(city) >= LIMITS.city[0], 'CityNameTooShort');
  ensure(byteLength(city) <= LIMITS.city[1], 'CityNameTooLong');
  return { country, city };
}

function createEntity(ctx: CallContext, args: CallArgs): void {
  ctx.signer();
  const target = args.target!.toHex() as Hex;
  const name = text(args.name!);
  const s = ctx.store(TFGRID);
  ensure(!s.has('EntityIdByName', bytesOf(name)), 'EntityWithNameExists');
  ensure(!s.has('EntityIdByAccountID', target), 'EntityWithPubkeyExists');
  const signature = signatureBytes(text(args.signature!));
  const message = u8aConcat(args.name!.toU8a(true), args.country!.toU8a(true), args.city!.toU8a(true));
  ensure(verify(signature, target, message), 'EntitySignatureDoesNotMatch');
  const id = (s.json<number>('EntityID') ?? 0) + 1;
  const entity: EntityInfo = { version: ENTITY_VERSION, id, name, accountId: target, ...place(args) };
  s.put('Entities', [id], entityInput(entity));
  s.put('EntityIdByName', [bytesOf(name)], id);
  s.put('EntityIdByAccountID', [target], id);
  s.put('EntityID', [], id);
  ctx.deposit(TFGRID, 'EntityStored', entityInput(entity));
}

/** The signer's entity: EntityNotExists without one. */
function signerEntity(ctx: CallContext): EntityInfo {
  const id = ctx.store(TFGRID).json<number>('EntityIdByAccountID', ctx.signer()) ?? fail('EntityNotExists');
  return getEntity(ctx, id) ?? fail('EntityNotExists');
}

function updateEntity(ctx: CallContext, args: CallArgs): void {
  const name = text(args.name!);
  const s = ctx.store(TFGRID);
  ensure(!s.has('EntityIdByName', bytesOf(name)), 'EntityWithNameExists');
  const entity = signerEntity(ctx);
  s.remove('EntityIdByName', bytesOf(entity.name));
  const updated = { ...entity, name, ...place(args) };
  s.put('Entities', [entity.id], entityInput(updated));
  s.put('EntityIdByName', [bytesOf(name)], entity.id);
  ctx.deposit(TFGRID, 'EntityUpdated', entityInput(updated));
}

function deleteEntity(ctx: CallContext): void {
  const entity = signerEntity(ctx);
  const s = ctx.store(TFGRID);
  s.remove('Entities', entity.id);
  s.remove('EntityIdByName', bytesOf(entity.name));
  s.remove('EntityIdByAccountID', entity.accountId);
  ctx.deposit(TFGRID, 'EntityDeleted', entity.id);
}

const be32 = (n: number): Uint8Array => {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, false);
  return out;
};

/** The message an entity signs for create_entity, for clients and tests. */
export const entityMessage = (name: string, country: string, city: string): Uint8Array =>
  u8aConcat(stringToU8a(name), stringToU8a(country), stringToU8a(city));

/** The message an entity signs to be linked to a twin. */
export const twinEntityMessage = (entityId: number, twinId: number): Uint8Array => u8aConcat(be32(entityId), be32(twinId));

function addTwinEntity(ctx: CallContext, args: CallArgs): void {
  const twinId = num(args.twin_id!);
  const entityId = num(args.entity_id!);
  const entity = getEntity(ctx, entityId) ?? fail('EntityNotExists');
  const twin = getTwin(ctx, twinId) ?? fail('TwinNotExists');
  ensure(twin.accountId === ctx.signer().toLowerCase(), 'UnauthorizedToUpdateTwin');
  const signatureHex = (args.signature as any).toHex() as Hex;
  ensure(!twin.entities.some((e) => e.entityId === entityId && e.signature === signatureHex), 'EntityWithSignatureAlreadyExists');
  const signature = signatureBytes(text(args.signature!));
  ensure(verify(signature, entity.accountId, twinEntityMessage(entityId, twinId)), 'EntitySignatureDoesNotMatch');
  const updated = { ...twin, entities: [...twin.entities, { entityId, signature: signatureHex }] };
  putTwin(ctx, updated);
  ctx.deposit(TFGRID, 'TwinEntityStored', [twinId, entityId, signatureHex]);
}

function deleteTwinEntity(ctx: CallContext, args: CallArgs): void {
  const twinId = num(args.twin_id!);
  const entityId = num(args.entity_id!);
  const twin = getTwin(ctx, twinId) ?? fail('TwinNotExists');
  ensure(twin.accountId === ctx.signer().toLowerCase(), 'UnauthorizedToUpdateTwin');
  const index = twin.entities.findIndex((e) => e.entityId === entityId);
  ensure(index >= 0, 'EntityNotExists');
  putTwin(ctx, { ...twin, entities: twin.entities.filter((_, i) => i !== index) });
  ctx.deposit(TFGRID, 'TwinEntityRemoved', [twinId, entityId]);
}

const placeArgs = [bytesArg('country', 'CountryNameInput'), bytesArg('city', 'CityNameInput')];

export const entityCalls: CallDecl[] = [
  {
    name: 'create_entity', index: 14,
    args: [['target', AccountId32, 'T::AccountId'], vecArg('name'), ...placeArgs, vecArg('signature')],
    run: createEntity,
  },
  { name: 'update_entity', index: 15, args: [vecArg('name'), ...placeArgs], run: updateEntity },
  { name: 'delete_entity', index: 16, args: [], run: deleteEntity },
  { name: 'add_twin_entity', index: 19, args: [u32Arg('twin_id'), u32Arg('entity_id'), vecArg('signature')], run: addTwinEntity },
  { name: 'delete_twin_entity', index: 20, args: [u32Arg('twin_id'), u32Arg('entity_id')], run: deleteTwinEntity },
];

