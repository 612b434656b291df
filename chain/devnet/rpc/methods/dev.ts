import type { Call } from '@polkadot/types/interfaces';
import { hexToU8a } from '@polkadot/util';
import { z } from 'zod';
import { account, mint, withdraw } from '../../pallets/balances.ts';
import type { HookContext } from '../../runtime/context.ts';
import { DispatchFailure } from '../../runtime/errors.ts';
import { hexString, invalidParams } from '../protocol.ts';
import { accountId } from './system.ts';
import type { MethodTable } from './types.ts';

const amount = z.union([z.number().int().nonnegative(), z.string().regex(/^[0-9]{1,39}$/), z.bigint()]).transform((v) => BigInt(v));
const U128_MAX = (1n << 128n) - 1n;

/** Sets an account's free balance, minting (or withdrawing) the difference. */
export function setFreeBalance(ctx: HookContext, who: string, free: bigint): void {
  if (free > U128_MAX) throw invalidParams('balance does not fit u128');
  const current = account(ctx, who).data.free;
  if (free > current) mint(ctx, who, free - current);
  else if (free < current) withdraw(ctx, who, current - free, false);
}

const timeTravel = z.union([
  z.number().int().nonnegative(),
  z.string().max(64),
  z.object({ byMs: z.number().int().nonnegative() }).strict(),
  z.object({ toMs: z.number().int().nonnegative() }).strict(),
]);

/** Dev-only RPCs (chopsticks-style); each change is sealed into a new block. */
export const devMethods: MethodTable = {
  dev_newBlock: {
    params: z.tuple([z.object({ count: z.number().int().min(1).max(1000).optional() }).passthrough().nullish()]).or(z.tuple([])),
    run: ([opts], b) => b.executive.newBlocks(opts?.count ?? 1).at(-1)!.hash,
  },
  dev_setBalance: {
    params: z.tuple([z.string().max(128), amount]),
    run: ([address, free], b) => {
      const who = accountId(address);
      try {
        return b.executive.mutate((ctx) => setFreeBalance(ctx, who, free)).hash;
      } catch (err) {
        if (err instanceof DispatchFailure) throw invalidParams(`cannot set that balance: ${err.message}`);
        throw err;
      }
    },
  },
  dev_setStorage: {
    params: z.tuple([z.array(z.tuple([hexString.max(8194), hexString.nullable()])).max(10_000)]),
    run: ([entries], b) =>
      b.executive.mutate(() => {
        for (const [key, value] of entries as Array<[string, string | null]>) {
          if (value === null) b.runtime.state.delete(key.toLowerCase());
          else b.runtime.state.set(key.toLowerCase(), hexToU8a(value));
        }
      }).hash,
  },
  /**
   * Dispatches a SCALE-encoded call with the root origin, in a block of its own: the devnet's
   * stand-in for what tfchain's council (or sudo) approves, e.g. TfgridModule.set_zos_version.
   * The pallet's own checks run; the call's events are the block's (phase Initialization: no
   * extrinsic carries them), as followers of tfchain see a council-approved call's events.
   */
  dev_rootCall: {
    params: z.tuple([hexString.max(1 << 20)]),
    run: ([hex], b) => {
      let call: Call;
      try {
        call = b.runtime.registry.createType('Call', hexToU8a(hex as string));
      } catch (err) {
        throw invalidParams(`not a call of this runtime: ${(err as Error).message}`);
      }
      try {
        return b.executive.mutate(() => b.runtime.dispatchCall(call, { kind: 'root' })).hash;
      } catch (err) {
        if (!(err instanceof DispatchFailure)) throw err;
        throw invalidParams(`root call failed: ${err.message}`);
      }
    },
  },
  dev_timeTravel: {
    params: z.tuple([timeTravel]),
    run: ([to], b) => {
      if (typeof to === 'object') return b.executive.timeTravel(to);
      const ms = typeof to === 'number' ? to : Date.parse(to);
      if (!Number.isFinite(ms)) throw invalidParams('expected a timestamp (ms), a date string, {byMs} or {toMs}');
      return b.executive.timeTravel({ toMs: ms });
    },
  },
};
