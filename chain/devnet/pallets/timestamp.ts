import { compact, phantom, u64, bool } from '../metadata/scale-info.ts';
import type { PalletDecl } from '../runtime/pallet.ts';

export const MINIMUM_PERIOD_MS = 3000;

/** pallet_timestamp: `set` is the block author's inherent (unsigned, first in a block). */
export function timestampPallet(): PalletDecl {
  return {
    name: 'Timestamp',
    index: 1,
    typePath: 'pallet_timestamp::pallet',
    typeParams: phantom('T'),
    storage: [
      { name: 'Now', modifier: 'Default', type: { plain: u64 } },
      { name: 'DidUpdate', modifier: 'Default', type: { plain: bool } },
    ],
    calls: [
      {
        name: 'set', index: 0, args: [['now', compact(u64), 'T::Moment']], paysFee: false,
        run: (ctx, a) => {
          if (ctx.origin.kind !== 'none') ctx.fail('System', 'CallFiltered');
          const s = ctx.store('Timestamp');
          s.put('Now', [], (a.now as any).toBigInt());
          s.put('DidUpdate', [], true);
        },
      },
    ],
    constants: [{ name: 'MinimumPeriod', type: u64, value: MINIMUM_PERIOD_MS }],
    onFinalize: (ctx) => ctx.store('Timestamp').remove('DidUpdate'),
  };
}
