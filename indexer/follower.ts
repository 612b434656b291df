import { EventEmitter } from 'node:events';
import type { Logger } from '../lib/log.ts';
import { EventStream, type ChainClient, type Connection } from '../chain/client/index.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { failpoint } from '../lib/failpoints.ts';
import { applyEvent, type EventPlace } from './store/apply.ts';
import type { IndexerEvent } from './events.ts';
import { CHAIN_TABLES } from './store/schema.ts';
import type { Param, Sql, SqlTx } from './store/sql.ts';
import { stateAsEvents } from './snapshot.ts';
import { IndexerBlockSource, type IndexedBlock, type LocatedEvent } from './source.ts';

export interface Cursor {
  block: number;
  hash: string;
}

export async function readCursor(sql: Sql): Promise<Cursor | null> {
  const rows = await sql.all<{ key: string; value: string }>("SELECT key, value FROM meta WHERE key IN ('cursor_block', 'cursor_hash')");
  const m = new Map(rows.map((r) => [r.key, r.value]));
  const block = m.get('cursor_block');
  const hash = m.get('cursor_hash');
  return block !== undefined && hash !== undefined ? { block: Number(block), hash } : null;
}

async function writeCursor(tx: SqlTx, c: Cursor): Promise<void> {
  for (const [key, value] of [['cursor_block', String(c.block)], ['cursor_hash', c.hash]]) {
    await tx.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
  }
}

/**
 * Follows finalized blocks into the store. Each block's events and the cursor (number + hash)
 * commit in one transaction, and the stream resumes after the stored cursor, so a crash or
 * restart neither loses nor repeats a block. When the chain no longer matches the cursor (a
 * reset devnet) or can't serve the blocks after it (pruned states), the store is rebuilt from
 * the chain state at the finalized head (snapshot.ts) and following goes on from there.
 * Only the holder of the store's writer lock follows: `following` tells when that changes.
 */
export class ChainFollower extends EventEmitter<{ block: [cursor: Cursor]; following: [following: boolean] }> {
  private stream: EventStream<LocatedEvent> | null = null;
  private loop: Promise<void> | null = null;
  private cursor: Cursor | null = null;
  private holding = false;
  private readonly abort = new AbortController();

  constructor(
    private readonly client: ChainClient,
    private readonly sql: Sql,
    private readonly log: Logger,
  ) {
    super();
  }

  /** The last block stored (null before the first). */
  get last(): Cursor | null {
    return this.cursor;
  }

  /** Whether this process holds the store's writer lock and follows the chain into it. */
  get following(): boolean {
    return this.holding;
  }

  /**
   * Reconciles the store with the chain, then follows it in the background. When another
   * process follows into the same (shared) store, this one stands by and takes over when that
   * process's writer lock goes.
   */
  async start(): Promise<void> {
    const lock = await this.sql.tryWriterLock();
    if (!lock) this.log.info('another indexer process follows the chain into this store: standing by');
    let stream: EventStream<LocatedEvent> | null = null;
    try {
      if (lock) stream = await this.begin(lock);
    } catch (err) {
      // Lost during the reconcile (nothing of it committed): stand by like any process without the lock.
      if (!lock?.aborted) throw err;
    }
    this.loop = this.run(lock, stream);
  }

  /**
   * Follows while this process holds the writer lock, and stands by, asking for the lock again,
   * while it does not. A lock lost while following (the shared store's connection dropped, so
   * another process may already follow) stops the stream at once; a failure while following
   * starts again from the stored cursor.
   */
  private async run(lock: AbortSignal | null, stream: EventStream<LocatedEvent> | null): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        lock ??= await this.sql.tryWriterLock();
        if (lock && !lock.aborted) {
          stream ??= await this.begin(lock);
          await this.follow(stream, lock);
        }
      } catch (err) {
        if (!signal.aborted) this.log.error({ err }, 'indexer stopped following the chain (or asking for its lock): trying again from the stored cursor');
      }
      await stream?.close();
      stream = null;
      if (lock?.aborted) {
        if (!signal.aborted) this.log.warn({ err: lock.reason }, 'lost the store\'s writer lock: standing by until this process holds it again');
        lock = null;
      }
      if (!lock) this.setFollowing(false);
      if (!signal.aborted) await sleep(STANDBY_POLL_MS, undefined, { signal }).catch(() => undefined);
    }
  }

  private setFollowing(on: boolean): void {
    if (this.holding === on) return;
    this.holding = on;
    this.emit('following', on);
  }

  /** With the lock held: reconciles the store and opens the stream from its cursor. */
  private async begin(lock: AbortSignal): Promise<EventStream<LocatedEvent>> {
    this.setFollowing(true);
    const c = await this.client.connection(AbortSignal.any([this.abort.signal, lock]), Infinity);
    this.cursor = await this.reconcile(c, new IndexerBlockSource(c, this.log));
    await failpoint('indexer.begin.reconciled');
    const stream = new EventStream<LocatedEvent>({
      after: this.cursor?.block ?? 0,
      logger: this.log,
      source: async (signal) => {
        const conn = await this.client.connection(signal, Infinity);
        return new IndexerBlockSource(conn, this.log);
      },
    });
    this.stream = stream;
    return stream;
  }

  private async follow(stream: EventStream<LocatedEvent>, lock: AbortSignal): Promise<void> {
    // Stops on a lost lock and on close(): close() ends only the stream begin() had made when it
    // was called, so one closing while begin() still ran would leave this loop on a new stream
    // (a clean-clone CI hung in close() so, with the devnet sealing no more blocks).
    const stopped = AbortSignal.any([lock, this.abort.signal]);
    const stop = () => void stream.close();
    stopped.addEventListener('abort', stop, { once: true });
    // A signal already aborted fires no 'abort' event: a lock lost during begin()'s reconcile,
    // which wrote nothing and so did not fail, would leave this loop waiting for the next block
    // (forever on a quiet chain) while this process shows `following` without holding the lock.
    if (stopped.aborted) stop();
    try {
      for await (const block of stream) {
        // The lock may have gone while this block was on its way: the new holder stores it.
        if (stopped.aborted) break;
        await this.store(block);
      }
    } finally {
      stopped.removeEventListener('abort', stop);
    }
  }

  private async store(block: IndexedBlock): Promise<void> {
    const cursor = { block: block.blockNumber, hash: block.blockHash };
    // A gap whose events are gone (a devnet restored from disk, pruned states): the store is
    // brought to the state at this block instead, which already holds this block's effects.
    const state = block.missed ? await this.stateAt(block.blockHash) : null;
    if (state) this.log.warn({ missed: block.missed, block: cursor.block }, 'the chain lost the events of a range of blocks: resynchronising from the state');
    const stored = await this.sql.writerTransaction(async (tx) => {
      const [row] = await tx.all<{ value: string }>(`SELECT value FROM meta WHERE key = 'cursor_block'${this.sql.kind === 'postgres' ? ' FOR UPDATE' : ''}`);
      if (row && Number(row.value) >= cursor.block) return false;
      if (state) await resyncFromState(tx, state, { block: cursor.block, blockHash: cursor.hash, index: 0, at: 0 });
      else {
        for (const { index, at, event } of block.events) {
          await applyEvent(tx, event, { block: block.blockNumber, blockHash: block.blockHash, index, at });
        }
      }
      await writeCursor(tx, cursor);
      return true;
    });
    if (!stored) this.log.warn({ block: cursor.block }, 'block already in the store (written by another indexer process): skipped');
    this.cursor = cursor;
    this.emit('block', cursor);
  }

  private async stateAt(hash: string): Promise<IndexerEvent[]> {
    const c = await this.client.connection(this.abort.signal, Infinity);
    return stateAsEvents(c, hash);
  }

  /** The cursor to follow from, after rebuilding the store when the chain can't continue it. */
  private async reconcile(conn: Connection, source: IndexerBlockSource): Promise<Cursor | null> {
    let cursor = await readCursor(this.sql);
    if (cursor) {
      const hash = await conn.rpc.request<string | null>('chain_getBlockHash', [cursor.block]);
      if (hash !== cursor.hash) {
        this.log.warn({ cursor, chainHash: hash }, 'the chain does not hold the stored block: reindexing from scratch');
        cursor = null;
      }
    }
    const head = await source.finalizedHead();
    const from = cursor?.block ?? 0;
    // From scratch the store starts from the genesis state: blocks carry no events for what the
    // chain was born with (tfchain's first pricing policy). A chain that no longer holds it is
    // taken from its head instead.
    const genesis = cursor ? null : await this.genesisState(conn);
    if ((from < head && !(await this.replayable(source, from + 1))) || (!cursor && !genesis)) {
      const hash = await conn.rpc.request<string>('chain_getBlockHash', [head]);
      this.log.warn({ from, head }, 'the chain cannot replay the blocks after the cursor: rebuilding from the state at its head');
      const events = await stateAsEvents(conn, hash);
      const snap = { block: head, hash };
      await this.sql.writerTransaction(async (tx) => {
        await resyncFromState(tx, events, { block: head, blockHash: hash, index: 0, at: 0 });
        await writeCursor(tx, snap);
        await failpoint('indexer.reconcile.commit');
      });
      return snap;
    }
    if (cursor || !genesis) return cursor;
    const start = { block: 0, hash: genesis.hash };
    await this.sql.writerTransaction(async (tx) => {
      await clearChainTables(tx);
      let index = 0;
      for (const event of genesis.events) await applyEvent(tx, event, { block: 0, blockHash: genesis.hash, index: index++, at: 0 });
      await writeCursor(tx, start);
      await failpoint('indexer.reconcile.commit');
    });
    return start;
  }

  private async genesisState(conn: Connection): Promise<{ hash: string; events: IndexerEvent[] } | null> {
    try {
      const hash = await conn.rpc.request<string>('chain_getBlockHash', [0]);
      return { hash, events: await stateAsEvents(conn, hash) };
    } catch (err) {
      this.log.debug({ err }, 'genesis state not readable');
      return null;
    }
  }

  private async replayable(source: IndexerBlockSource, block: number): Promise<boolean> {
    try {
      await source.blockEvents(block);
      return true;
    } catch (err) {
      this.log.debug({ err, block }, 'block not replayable');
      return false;
    }
  }

  /** Resolves once block `n` (or a later one) is stored. */
  async waitFor(n: number, signal?: AbortSignal): Promise<void> {
    while ((this.cursor?.block ?? -1) < n) {
      signal?.throwIfAborted();
      await new Promise<void>((resolve) => this.once('block', () => resolve()));
    }
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.stream?.close();
    await this.loop;
    this.setFollowing(false);
  }
}

/**
 * Replaces the chain entities with the state at one block (snapshot.ts) and keeps what the
 * state does not hold but the store knew: uptime and bill history, each node's last uptime
 * report and RMB answers, contracts' creation times. A known contract gone from the state
 * ended (tfchain removes ended contracts): it stays, Deleted, as it would have after its event.
 */
async function resyncFromState(tx: SqlTx, events: IndexerEvent[], place: EventPlace): Promise<void> {
  const nodes = await tx.all<Record<string, Param>>(`SELECT node_id, ${KEPT_NODE_COLUMNS.join(', ')} FROM nodes`);
  const contracts = await Promise.all(CONTRACT_TABLES.map(async (t) => ({ t, rows: await tx.all<Record<string, Param>>(`SELECT * FROM ${t}`) })));
  for (const t of CHAIN_TABLES) if (!HISTORY_TABLES.includes(t)) await tx.run(`DELETE FROM ${t}`);
  let index = place.index;
  for (const event of events) await applyEvent(tx, event, { ...place, index: index++ });
  const set = KEPT_NODE_COLUMNS.map((c) => `${c} = ?`).join(', ');
  for (const n of nodes) await tx.run(`UPDATE nodes SET ${set} WHERE node_id = ?`, [...KEPT_NODE_COLUMNS.map((c) => n[c] ?? null), n.node_id ?? null]);
  for (const { t, rows } of contracts) {
    for (const r of rows) {
      await tx.run(`UPDATE ${t} SET created_at = ? WHERE contract_id = ? AND created_at = 0`, [r.created_at ?? 0, r.contract_id ?? null]);
      const cols = Object.keys(r);
      await tx.run(
        `INSERT INTO ${t} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')}) ON CONFLICT (contract_id) DO NOTHING`,
        cols.map((c) => (c === 'state' ? 'Deleted' : (r[c] ?? null))),
      );
    }
  }
}

/** Node columns the chain state does not hold (event times, RMB answers). */
const KEPT_NODE_COLUMNS = ['uptime', 'created_at', 'updated_at', 'healthy', 'has_ipv6', 'features', 'workloads', 'rmb_checked_at'];
const CONTRACT_TABLES = ['node_contracts', 'name_contracts', 'rent_contracts'];
const HISTORY_TABLES: readonly string[] = ['uptime_events', 'contract_bill_reports'];
const STANDBY_POLL_MS = 1000;

async function clearChainTables(tx: SqlTx): Promise<void> {
  for (const t of CHAIN_TABLES) await tx.run(`DELETE FROM ${t}`);
  await tx.run("DELETE FROM meta WHERE key IN ('cursor_block', 'cursor_hash')");
}
