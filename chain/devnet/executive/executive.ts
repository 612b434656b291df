import type { Logger } from '../../../lib/log.ts';
import type { Clock } from '../../../lib/clock.ts';
import { account } from '../pallets/balances.ts';
import { MINIMUM_PERIOD_MS } from '../pallets/timestamp.ts';
import type { HookContext } from '../runtime/context.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { buildBlock, buildGenesis, type BuiltBlock } from './block-builder.ts';
import { type BlockRecord, ChainStore } from './chain-store.ts';
import { type ChainView, checkExtrinsic } from './check.ts';
import { TxPool, type TxStatus, type TxWatcher } from './pool.ts';

/** Where sealed blocks go before they become visible (persistence). */
export interface BlockSink {
  saveBlock(block: BlockRecord, changes: ReadonlyArray<[string, Uint8Array | null]>): void;
}

export interface NewBlock {
  block: BlockRecord;
  /** Keys written by the block (null value = deleted). */
  changes: ReadonlyArray<[string, Uint8Array | null]>;
}

export interface ExecutiveOptions {
  runtime: Runtime;
  clock: Clock;
  logger: Logger;
  /** Also seal a block (possibly empty) every blockMs; instant seal always runs. */
  blockMs?: number;
  /** Debounce between the first ready tx and its block, to collect several. */
  sealDelayMs?: number;
  maxBlockTxs?: number;
  /**
   * How far chain time may run ahead of the wall clock (+ time travel) before instant seal waits.
   * Every block moves chain time by at least MinimumPeriod (3 s), so a burst of instantly sealed
   * blocks would put it minutes ahead, and nodes' uptime reports (timestamp hint within
   * TimestampHintDrift, 60 s) would be refused; while ahead, transactions collect into one block.
   * Absent: never wait (unit tests and test chains that seal bursts).
   */
  maxAheadMs?: number;
  /**
   * Delay between a watched tx's inBlock and finalized updates. Blocks are final at
   * once, but @polkadot/api handles statuses with switchMap: a finalized update that
   * arrives while it is still fetching the inBlock events cancels the inBlock
   * callback, which is the only one tfchain_client waits for.
   */
  finalityDelayMs?: number;
  sink?: BlockSink;
  /** Blocks loaded from disk; the runtime's state must already be the best block's. */
  restored?: BlockRecord[];
}

const ERR_CLOSED = 'devnet is closed';

/**
 * The devnet's block author: validates submitted extrinsics into the pool, seals
 * blocks (instantly on a ready tx, and optionally on a timer), finalizes them at
 * once and tells listeners. All state changes happen synchronously inside
 * sealBlock, so between blocks the live state is the best block's state.
 */
/**
 * Delay between a watcher's inBlock and finalized updates. @polkadot/api handles statuses with
 * switchMap: a finalized update that lands while it still fetches the inBlock events cancels the
 * inBlock callback, which is the one tfchain_client waits for; under load that fetch takes seconds.
 */
export const FINALITY_DELAY_MS = 2000;

export class Executive {
  readonly chain = new ChainStore();
  readonly pool = new TxPool();
  private readonly runtime: Runtime;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly listeners = new Set<(b: NewBlock) => void>();
  private sealTimer: { cancel(): void } | null = null;
  private blockTimer: { cancel(): void } | null = null;
  private readonly finality = new Set<{ cancel(): void }>();
  private timeOffsetMs = 0;
  private closed = false;

  constructor(private readonly opts: ExecutiveOptions) {
    this.runtime = opts.runtime;
    this.clock = opts.clock;
    this.log = opts.logger;
    if (opts.restored?.length) {
      // Restored chains only have the best block's state; older *At queries report it discarded.
      for (const b of opts.restored) this.chain.add(b);
      this.chain.setSnapshot(this.chain.best.hash, this.runtime.state.snapshot());
    } else {
      this.commit(buildGenesis(this.runtime));
    }
  }

  start(): void {
    if (this.closed) throw new Error(ERR_CLOSED);
    if (this.opts.blockMs && !this.blockTimer) this.armBlockTimer();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.sealTimer?.cancel();
    this.blockTimer?.cancel();
    for (const t of this.finality) t.cancel();
    this.finality.clear();
    for (const { watcher } of this.pool.clear()) watcher?.('dropped');
    this.listeners.clear();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  view(): ChainView {
    const chain = this.chain;
    return { genesisHash: chain.genesis.hash, bestNumber: chain.best.number, hashOf: (n) => chain.hashOf(n) };
  }

  onBlock(listener: (b: NewBlock) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  accountNonce(who: string): number {
    return account(this.runtime.hooks(), who).nonce;
  }

  /** The nonce a new tx from `who` should use, counting its pool txs. */
  nextIndex(who: string): number {
    return this.pool.nextNonce(who, this.accountNonce(who));
  }

  /**
   * Validates and pools an extrinsic; throws TxPoolError when refused. The watcher
   * hears "ready"/"future" at once, then inBlock/finalized (or invalid/dropped).
   */
  submit(bytes: Uint8Array, watcher?: TxWatcher): { hash: string; status: 'ready' | 'future' } {
    if (this.closed) throw new Error(ERR_CLOSED);
    const checked = checkExtrinsic(this.runtime, this.view(), bytes);
    const status = this.pool.insert(checked, this.accountNonce(checked.signer), this.clock.now(), watcher);
    if (status === 'ready') this.scheduleSeal();
    return { hash: checked.hash, status };
  }

  /**
   * Seals `count` blocks now (dev_newBlock); returns them. Chain time they move past the wall
   * clock counts as time travel: a test sealing blocks to pass a period means that time.
   */
  newBlocks(count = 1): BlockRecord[] {
    if (this.closed) throw new Error(ERR_CLOSED);
    const out: BlockRecord[] = [];
    for (let i = 0; i < count; i++) out.push(this.sealBlock());
    this.timeOffsetMs = Math.max(this.timeOffsetMs, this.runtime.nowMs() - this.clock.now());
    return out;
  }

  /**
   * Applies a dev-only state change (faucet, setStorage, a root call) at the start of a new block:
   * the events it deposits (e.g. a root call's PricingPolicyStored) are that block's, so followers
   * such as the indexer see them. A throw seals nothing and leaves the state as it was.
   */
  mutate(fn: (ctx: HookContext) => void): BlockRecord {
    if (this.closed) throw new Error(ERR_CLOSED);
    return this.sealBlock(fn);
  }

  /** Moves chain time: forward by ms, or to an absolute timestamp (never backwards). Seals a block; returns its timestamp. */
  timeTravel(to: { byMs: number } | { toMs: number }): number {
    if ('byMs' in to) this.timeOffsetMs += Math.max(0, to.byMs);
    else this.timeOffsetMs = Math.max(this.timeOffsetMs, to.toMs - this.clock.now());
    this.sealBlock();
    return this.runtime.nowMs();
  }

  /** Time for the next block: wall clock (+ travel), at least MinimumPeriod after the parent. */
  private nextTimestamp(): number {
    const previous = this.runtime.nowMs();
    return Math.max(this.clock.now() + this.timeOffsetMs, previous + MINIMUM_PERIOD_MS);
  }

  private scheduleSeal(): void {
    if (this.sealTimer || this.closed) return;
    this.sealTimer = this.clock.setTimeout(() => {
      this.sealTimer = null;
      if (this.closed) return;
      if (this.trySeal() && this.pool.hasReady()) this.scheduleSeal();
    }, Math.max(this.opts.sealDelayMs ?? 50, this.aheadMs() - (this.opts.maxAheadMs ?? Infinity)));
  }

  /** How far the next block's timestamp would be ahead of the wall clock (+ time travel). */
  private aheadMs(): number {
    return this.nextTimestamp() - (this.clock.now() + this.timeOffsetMs);
  }

  private armBlockTimer(): void {
    this.blockTimer = this.clock.setTimeout(() => {
      if (this.closed) return;
      this.trySeal();
      this.armBlockTimer();
    }, this.opts.blockMs!);
  }

  /** Seals from a timer: a failure is logged (the block was rolled back), never thrown into the event loop. */
  private trySeal(): boolean {
    try {
      this.sealBlock();
      return true;
    } catch (err) {
      this.log.error({ err }, 'block production failed; state rolled back');
      return false;
    }
  }

  private sealBlock(initialize?: (ctx: HookContext) => void): BlockRecord {
    const candidates = this.pool.ready((who) => this.accountNonce(who), this.opts.maxBlockTxs ?? 2048);
    const built = buildBlock(this.runtime, this.chain.best, this.nextTimestamp(), candidates, initialize);
    this.commit(built);
    this.settlePool(built);
    return built.block;
  }

  /** Persists, records and announces a sealed block. */
  private commit(built: BuiltBlock): void {
    try {
      this.opts.sink?.saveBlock(built.block, built.changes);
    } catch (err) {
      this.log.error({ err, block: built.block.number }, 'could not persist block');
    }
    this.chain.add(built.block, this.runtime.state.snapshot());
    this.log.debug({ number: built.block.number, hash: built.block.hash, txs: built.included.length }, 'block sealed');
    for (const listener of [...this.listeners]) {
      try {
        listener({ block: built.block, changes: built.changes });
      } catch (err) {
        this.log.error({ err }, 'block listener failed');
      }
    }
  }

  /** Moves included txs out of the pool and notifies watchers; drops txs that became invalid. */
  private settlePool(built: BuiltBlock): void {
    const hash = built.block.hash;
    const finalized: TxWatcher[] = [];
    for (const tx of built.included) {
      const watcher = this.pool.remove(tx.hash);
      notify(watcher, { inBlock: hash });
      if (watcher) finalized.push(watcher);
    }
    if (finalized.length) {
      const timer = this.clock.setTimeout(() => {
        this.finality.delete(timer);
        for (const w of finalized) notify(w, { finalized: hash });
      }, this.opts.finalityDelayMs ?? FINALITY_DELAY_MS);
      this.finality.add(timer);
    }
    for (const { tx, error } of built.rejected) {
      if (error.data === 'Transaction will be valid in the future') continue;
      this.log.debug({ tx: tx.hash, reason: error.data }, 'dropping transaction');
      notify(this.pool.remove(tx.hash), 'invalid');
    }
    for (const signer of this.pool.signers()) {
      const nonce = this.accountNonce(signer);
      for (const { watcher } of this.pool.pruneStale(signer, nonce)) notify(watcher, 'invalid');
      this.pool.refresh(signer, nonce);
    }
    for (const { watcher } of this.pool.dropAgedFuture(this.clock.now())) notify(watcher, 'dropped');
  }
}

function notify(watcher: TxWatcher | undefined, status: TxStatus): void {
  try {
    watcher?.(status);
  } catch {
    // A watcher belongs to a connection that may be gone; its failure must not stop the chain.
  }
}

