import type { Call } from '@polkadot/types/interfaces';
import type { Runtime } from '../runtime/runtime.ts';
import type { HookContext } from '../runtime/context.ts';
import { applyInherent, applySigned } from './apply.ts';
import { type BlockRecord, extrinsicsRootOf, sealHeader, stateRootOf, ZERO_HASH } from './chain-store.ts';
import type { CheckedTx } from './check.ts';
import { TxPoolError } from './errors.ts';

export interface BuiltBlock {
  block: BlockRecord;
  /** Included transactions, with their dispatch outcome. */
  included: CheckedTx[];
  /** Transactions that could not be included, with the reason (stale, payment, future). */
  rejected: Array<{ tx: CheckedTx; error: TxPoolError }>;
  /** Storage changed by the block (the state diff to persist). */
  changes: Array<[string, Uint8Array | null]>;
}

/** The Timestamp.set inherent as an unsigned extrinsic (0x04 ++ call). */
function timestampInherent(runtime: Runtime, nowMs: number): { call: Call; hex: string } {
  const pallet = runtime.pallets.get('Timestamp')!;
  const call = runtime.registry.createType('Call', { callIndex: [pallet.index, 0], args: { now: nowMs } });
  return { call, hex: runtime.registry.createType('Extrinsic', call).toHex() };
}

function finishBlock(runtime: Runtime, extrinsicCount: number): void {
  runtime.setPhase('Finalization');
  runtime.onFinalize();
  runtime.writeStorage('System', 'ExtrinsicCount', [], extrinsicCount);
  runtime.writeStorage('System', 'EventCount', [], runtime.eventCount);
  runtime.state.set(runtime.storageKey('System', 'Events'), runtime.encodeEvents());
}

/** Block 0: the genesis state written by every pallet's genesis hook. */
export function buildGenesis(runtime: Runtime): BuiltBlock {
  runtime.resetEvents();
  runtime.genesis();
  runtime.resetEvents();
  const changes = runtime.state.takeDirty();
  const { hash, header } = sealHeader(runtime.registry, {
    parentHash: ZERO_HASH,
    number: 0,
    stateRoot: stateRootOf(ZERO_HASH, changes),
    extrinsicsRoot: extrinsicsRootOf([]),
  });
  return { block: { number: 0, hash, header, extrinsics: [] }, included: [], rejected: [], changes };
}

/**
 * Builds the next block on the live state: opens it, runs on_initialize (and `initialize`, a
 * dev-only change whose events are the block's, phase Initialization), the timestamp inherent,
 * each candidate in order (one that can no longer be included is rejected without touching
 * state), on_finalize, and seals the header. A throw leaves the state as it was.
 */
export function buildBlock(runtime: Runtime, parent: BlockRecord, nowMs: number, candidates: readonly CheckedTx[], initialize?: (ctx: HookContext) => void): BuiltBlock {
  const number = parent.number + 1;
  const extrinsics: string[] = [];
  const included: CheckedTx[] = [];
  const rejected: BuiltBlock['rejected'] = [];
  // One layer around the whole block: a failing hook or inherent leaves the state as it was.
  runtime.state.transactional(() => {
    runtime.resetEvents();
    runtime.setPhase('Initialization');
    runtime.writeStorage('System', 'Number', [], number);
    runtime.writeStorage('System', 'ParentHash', [], parent.hash);
    runtime.writeStorage('System', 'BlockHash', [parent.number], parent.hash);
    runtime.onInitialize();
    initialize?.(runtime.hooks());

    const inherent = timestampInherent(runtime, nowMs);
    applyInherent(runtime, inherent.call, 0);
    extrinsics.push(inherent.hex);
    for (const tx of candidates) {
      try {
        applySigned(runtime, tx, extrinsics.length, number);
      } catch (err) {
        if (!(err instanceof TxPoolError)) throw err;
        rejected.push({ tx, error: err });
        continue;
      }
      extrinsics.push(tx.hex);
      included.push(tx);
    }
    finishBlock(runtime, extrinsics.length);
  });

  const changes = runtime.state.takeDirty();
  const { hash, header } = sealHeader(runtime.registry, {
    parentHash: parent.hash,
    number,
    stateRoot: stateRootOf(parent.header.stateRoot, changes),
    extrinsicsRoot: extrinsicsRootOf(extrinsics),
  });
  return { block: { number, hash, header, extrinsics }, included, rejected, changes };
}
