/** create_name_contract: a unique gateway name [a-z0-9-_]{3,64} per contract. */
import type { CallArgs } from '../../runtime/pallet.ts';
import type { CallContext } from '../../runtime/context.ts';
import { fail, insertContract, signerTwin } from './lifecycle.ts';
import { contractIdByName } from './storage.ts';
import { MAX_NAME_LENGTH, MIN_NAME_LENGTH, type SmartContractError } from './types.ts';

const NAME_CHARS = /^[a-z0-9_-]+$/;

/** The error a name violates, or null when it is valid (length first, then characters). */
export function nameError(name: Uint8Array): SmartContractError | null {
  if (name.length < MIN_NAME_LENGTH) return 'NameContractNameTooShort';
  if (name.length > MAX_NAME_LENGTH) return 'NameContractNameTooLong';
  const text = String.fromCharCode(...name);
  return NAME_CHARS.test(text) ? null : 'NameNotValid';
}

export function createNameContract(ctx: CallContext, a: CallArgs): void {
  const twinId = signerTwin(ctx);
  const raw: Uint8Array = (a.name as any).toU8a(true);
  const invalid = nameError(raw);
  if (invalid) fail(ctx, invalid);
  const name = String.fromCharCode(...raw);
  if (contractIdByName(ctx, name) !== 0) fail(ctx, 'NameExists');
  insertContract(ctx, twinId, { kind: 'NameContract', name }, null);
}
