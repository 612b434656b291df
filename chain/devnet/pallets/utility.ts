import { DispatchError, Weight } from '../metadata/common-types.ts';
import { RuntimeCall } from '../metadata/outer-types.ts';
import { phantom, seq, u16, u32, tuple, result, type FieldSpec } from '../metadata/scale-info.ts';
import type { Call } from '@polkadot/types/interfaces';
import type { CallContext } from '../runtime/context.ts';
import { DispatchFailure } from '../runtime/errors.ts';
import type { PalletDecl } from '../runtime/pallet.ts';

export const BATCHED_CALLS_LIMIT = 10922;
const calls: FieldSpec = ['calls', seq(RuntimeCall), 'Vec<<T as Config>::RuntimeCall>'];
const boxed: FieldSpec = ['call', RuntimeCall, 'Box<<T as Config>::RuntimeCall>'];

function list(ctx: CallContext, a: Record<string, any>): Call[] {
  const items = [...(a.calls as Iterable<Call>)];
  if (items.length > BATCHED_CALLS_LIMIT) ctx.fail('Utility', 'TooManyCalls');
  return items;
}

/** batch: stops at the first failure, which is reported as BatchInterrupted; the extrinsic still succeeds. */
function batch(ctx: CallContext, a: Record<string, any>): void {
  const items = list(ctx, a);
  for (let i = 0; i < items.length; i++) {
    try {
      ctx.dispatch(items[i]!);
    } catch (err) {
      if (!(err instanceof DispatchFailure)) throw err;
      ctx.deposit('Utility', 'BatchInterrupted', { index: i, error: ctx.runtime.dispatchError(err) });
      return;
    }
    ctx.deposit('Utility', 'ItemCompleted', null);
  }
  ctx.deposit('Utility', 'BatchCompleted', null);
}

/** batch_all: all or nothing; the dispatcher's transactional layer undoes every item on failure. */
function batchAll(ctx: CallContext, a: Record<string, any>): void {
  for (const call of list(ctx, a)) {
    ctx.dispatch(call);
    ctx.deposit('Utility', 'ItemCompleted', null);
  }
  ctx.deposit('Utility', 'BatchCompleted', null);
}

function forceBatch(ctx: CallContext, a: Record<string, any>): void {
  let failed = false;
  for (const call of list(ctx, a)) {
    try {
      ctx.dispatch(call);
      ctx.deposit('Utility', 'ItemCompleted', null);
    } catch (err) {
      if (!(err instanceof DispatchFailure)) throw err;
      failed = true;
      ctx.deposit('Utility', 'ItemFailed', { error: ctx.runtime.dispatchError(err) });
    }
  }
  ctx.deposit('Utility', failed ? 'BatchCompletedWithErrors' : 'BatchCompleted', null);
}

export function utilityPallet(): PalletDecl {
  return {
    name: 'Utility',
    index: 3,
    typePath: 'pallet_utility::pallet',
    typeParams: phantom('T'),
    eventTypeParams: [],
    calls: [
      { name: 'batch', index: 0, args: [calls], run: batch },
      { name: 'as_derivative', index: 1, args: [['index', u16, 'u16'], boxed] },
      { name: 'batch_all', index: 2, args: [calls], run: batchAll },
      { name: 'force_batch', index: 4, args: [calls], run: forceBatch },
      { name: 'with_weight', index: 5, args: [boxed, ['weight', Weight, 'Weight']], root: true, run: (ctx, a) => ctx.dispatch(a.call as Call) },
    ],
    events: [
      ['BatchInterrupted', [['index', u32, 'u32'], ['error', DispatchError, 'DispatchError']]],
      ['BatchCompleted', []],
      ['BatchCompletedWithErrors', []],
      ['ItemCompleted', []],
      ['ItemFailed', [['error', DispatchError, 'DispatchError']]],
      ['DispatchedAs', [['result', result(tuple(), DispatchError), 'DispatchResult']]],
    ],
    errors: ['TooManyCalls'],
    constants: [{ name: 'batched_calls_limit', type: u32, value: BATCHED_CALLS_LIMIT }],
  };
}
