import type { CheckedTx } from './check.ts';
import { alreadyImported, poolFull, tooLowPriority } from './errors.ts';

/** Status updates of a watched extrinsic, as author_extrinsicUpdate sends them. */
export type TxStatus =
  | 'future'
  | 'ready'
  | 'invalid'
  | 'dropped'
  | { inBlock: string }
  | { finalized: string }
  | { usurped: string };

export type TxWatcher = (status: TxStatus) => void;

interface Entry {
  tx: CheckedTx;
  watcher?: TxWatcher;
  ready: boolean;
  /** When it entered the pool (ms), to drop future txs whose gap never fills. */
  since: number;
}

export interface PoolLimits {
  /** All txs in the pool. */
  total: number;
  /** Future (nonce gap) txs of one account: substrate bounds its future queue; one account must not fill it. */
  futurePerAccount: number;
  /** A future tx still waiting after this long is dropped. */
  futureTtlMs: number;
}

export const DEFAULT_POOL_LIMITS: PoolLimits = { total: 8192, futurePerAccount: 16, futureTtlMs: 10 * 60_000 };

/**
 * Transactions waiting for a block, keyed by (signer, nonce). A tx whose nonce
 * follows the account's nonce and the pool's earlier txs is "ready"; one after a
 * gap is "future" until the gap fills; an account holds at most `futurePerAccount` of those and
 * each is dropped after `futureTtlMs`.
 */
export class TxPool {
  private readonly byHash = new Map<string, Entry>();
  /** signer -> nonce -> entry; Map insertion order of signers gives block order. */
  private readonly bySigner = new Map<string, Map<number, Entry>>();

  constructor(private readonly limits: PoolLimits = DEFAULT_POOL_LIMITS) {}

  get size(): number {
    return this.byHash.size;
  }

  has(hash: string): boolean {
    return this.byHash.has(hash);
  }

  /** Adds a checked tx; a same-nonce tx is replaced only by a higher tip (its watcher hears `usurped`). */
  insert(tx: CheckedTx, accountNonce: number, nowMs: number, watcher?: TxWatcher): 'ready' | 'future' {
    if (this.byHash.has(tx.hash)) throw alreadyImported();
    let nonces = this.bySigner.get(tx.signer);
    const existing = nonces?.get(tx.nonce);
    if (existing && existing.tx.tip >= tx.tip) throw tooLowPriority(existing.tx.tip, tx.tip);
    if (!existing && this.byHash.size >= this.limits.total) throw poolFull();
    const future = tx.nonce > this.nextNonce(tx.signer, accountNonce);
    if (!existing && future && this.futureCount(tx.signer) >= this.limits.futurePerAccount) throw poolFull();
    if (existing) {
      this.byHash.delete(existing.tx.hash);
      existing.watcher?.({ usurped: tx.hash });
    }
    if (!nonces) {
      nonces = new Map();
      this.bySigner.set(tx.signer, nonces);
    }
    const entry: Entry = { tx, watcher, ready: false, since: nowMs };
    nonces.set(tx.nonce, entry);
    this.byHash.set(tx.hash, entry);
    this.refresh(tx.signer, accountNonce);
    if (!entry.ready) watcher?.('future');
    return entry.ready ? 'ready' : 'future';
  }

  private futureCount(signer: string): number {
    let n = 0;
    for (const e of this.bySigner.get(signer)?.values() ?? []) if (!e.ready) n++;
    return n;
  }

  /** Drops future txs that waited longer than futureTtlMs; returns them with their watchers. */
  dropAgedFuture(nowMs: number): Array<{ tx: CheckedTx; watcher?: TxWatcher }> {
    const aged = [...this.byHash.values()].filter((e) => !e.ready && nowMs - e.since > this.limits.futureTtlMs);
    for (const e of aged) this.remove(e.tx.hash);
    return aged.map((e) => ({ tx: e.tx, watcher: e.watcher }));
  }

  /** Next nonce for an account counting its consecutive pool txs (system_accountNextIndex). */
  nextNonce(signer: string, accountNonce: number): number {
    const nonces = this.bySigner.get(signer);
    let n = accountNonce;
    while (nonces?.has(n)) n++;
    return n;
  }

  /**
   * Recomputes readiness of an account's txs (consecutive nonces from the account
   * nonce), notifying watchers of txs that became ready or fell back to future.
   */
  refresh(signer: string, accountNonce: number): void {
    const nonces = this.bySigner.get(signer);
    if (!nonces) return;
    let next = accountNonce;
    for (const n of [...nonces.keys()].sort((a, b) => a - b)) {
      const e = nonces.get(n)!;
      const ready = n === next;
      if (ready) next++;
      if (ready !== e.ready) {
        e.ready = ready;
        e.watcher?.(ready ? 'ready' : 'future');
      }
    }
  }

  /** Ready txs in block order: accounts in arrival order, each in nonce order. */
  ready(accountNonce: (signer: string) => number, max = Infinity): CheckedTx[] {
    const out: CheckedTx[] = [];
    for (const [signer, nonces] of this.bySigner) {
      for (let n = accountNonce(signer); nonces.has(n) && out.length < max; n++) out.push(nonces.get(n)!.tx);
      if (out.length >= max) break;
    }
    return out;
  }

  /** Whether any tx can go into the next block. */
  hasReady(): boolean {
    for (const e of this.byHash.values()) if (e.ready) return true;
    return false;
  }

  /** Removes a tx, returning its watcher. */
  remove(hash: string): TxWatcher | undefined {
    const e = this.byHash.get(hash);
    if (!e) return undefined;
    this.byHash.delete(hash);
    const nonces = this.bySigner.get(e.tx.signer)!;
    nonces.delete(e.tx.nonce);
    if (nonces.size === 0) this.bySigner.delete(e.tx.signer);
    return e.watcher;
  }

  /** Drops txs whose nonce is now stale; returns them with their watchers. */
  pruneStale(signer: string, accountNonce: number): Array<{ tx: CheckedTx; watcher?: TxWatcher }> {
    const nonces = this.bySigner.get(signer);
    if (!nonces) return [];
    const stale = [...nonces.values()].filter((e) => e.tx.nonce < accountNonce);
    for (const e of stale) this.remove(e.tx.hash);
    return stale.map((e) => ({ tx: e.tx, watcher: e.watcher }));
  }

  signers(): string[] {
    return [...this.bySigner.keys()];
  }

  /** Stops notifying a watcher (author_unwatchExtrinsic); the tx stays in the pool. */
  unwatch(hash: string): boolean {
    const e = this.byHash.get(hash);
    if (!e?.watcher) return false;
    e.watcher = undefined;
    return true;
  }

  pending(): CheckedTx[] {
    return [...this.byHash.values()].map((e) => e.tx);
  }

  clear(): Array<{ tx: CheckedTx; watcher?: TxWatcher }> {
    const all = [...this.byHash.values()].map((e) => ({ tx: e.tx, watcher: e.watcher }));
    this.byHash.clear();
    this.bySigner.clear();
    return all;
  }
}
