/** Twin calls: create_twin (17), update_twin (18), bond_twin_account (37). */
import type { CallContext } from '../../runtime/context.ts';
import type { CallArgs, CallDecl } from '../../runtime/pallet.ts';
import { ensure, ensureBound, fail, num, optBytesArg, optText, u32Arg } from './call-kit.ts';
import { getTwin, putTwin, TFGRID, twinIdOf } from './queries.ts';
import { LIMITS, byteLength, isValidRelay } from './validate.ts';
import { twinToInput, type Hex, type TwinInfo } from './model.ts';

const relayArg = optBytesArg('relay', 'RelayInput');
const pkArg = optBytesArg('pk', 'PkInput');

/** Relay and pk arguments, bounded and validated as tfchain does. */
function twinInputs(args: CallArgs): { relay: string | null; pk: Hex | null } {
  const relay = optText(args.relay!);
  const pkArgValue = args.pk as any;
  const pk: Hex | null = pkArgValue.isSome ? pkArgValue.unwrap().toHex() : null;
  if (relay !== null) {
    ensureBound(byteLength(relay), LIMITS.relay, 'relay');
    ensure(isValidRelay(relay), 'InvalidRelayAddress');
  }
  if (pk !== null) ensureBound((pk.length - 2) / 2, LIMITS.pk, 'pk');
  return { relay, pk };
}

function createTwin(ctx: CallContext, args: CallArgs): void {
  const account = ctx.signer();
  const s = ctx.store(TFGRID);
  ensure(s.has('UsersTermsAndConditions', account), 'UserDidNotSignTermsAndConditions');
  ensure(twinIdOf(ctx, account) === null, 'TwinWithPubkeyExists');
  const { relay, pk } = twinInputs(args);
  const id = (s.json<number>('TwinID') ?? 0) + 1;
  const twin: TwinInfo = { id, accountId: account as Hex, relay, entities: [], pk };
  putTwin(ctx, twin);
  s.put('TwinID', [], id);
  s.put('TwinIdByAccountID', [account], id);
  ctx.deposit(TFGRID, 'TwinStored', twinToInput(twin));
}

function updateTwin(ctx: CallContext, args: CallArgs): void {
  const account = ctx.signer();
  const twinId = twinIdOf(ctx, account) ?? fail('TwinNotExists');
  const twin = getTwin(ctx, twinId) ?? fail('TwinNotExists');
  ensure(twin.accountId === account.toLowerCase(), 'UnauthorizedToUpdateTwin');
  const { relay, pk } = twinInputs(args);
  const updated = { ...twin, relay, pk };
  putTwin(ctx, updated);
  ctx.deposit(TFGRID, 'TwinUpdated', twinToInput(updated));
}

function bondTwinAccount(ctx: CallContext, args: CallArgs): void {
  const account = ctx.signer();
  const twinId = num(args.twin_id!);
  const twin = getTwin(ctx, twinId) ?? fail('TwinNotExists');
  ensure(twin.accountId !== account.toLowerCase(), 'TwinCannotBoundToItself');
  ctx.store(TFGRID).put('TwinBoundedAccountID', [twinId], account);
  ctx.deposit(TFGRID, 'TwinAccountBounded', [twinId, account]);
}

export const twinCalls: CallDecl[] = [
  { name: 'create_twin', index: 17, args: [relayArg, pkArg], run: createTwin },
  { name: 'update_twin', index: 18, args: [relayArg, pkArg], run: updateTwin },
  { name: 'bond_twin_account', index: 37, args: [u32Arg('twin_id')], run: bondTwinAccount },
];
