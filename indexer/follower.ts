import { EventEmitter } from 'node:events';
import type { ApiPromise } from '@polkadot/api';
import type { Logger } from '../lib/log.ts';
import { EventStream, type ChainClient } from '../chain/client/index.ts';
import { applyEvent } from './store/apply.ts';
import { CHAIN_TABLES } from './store/schema.ts';
import type { Sql, SqlTx } from './store/sql.ts';
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
 */
export class ChainFollower extends EventEmitter<{ block: [cursor: Cursor] }> {
  private stream: EventStream<LocatedEvent> | null = null;
  private loop: Promise<void> | null = null;
  private cursor: Cursor | null = null;
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

  /** Reconciles the store with the chain, then follows it in the background. */
  async start(): Promise<void> {
    const c = await this.client.connection(this.abort.signal, Infinity);
    this.cursor = await this.reconcile(c.api, new IndexerBlockSource(c.api, c.signal, this.log));
    const stream = new EventStream<LocatedEvent>({
      after: this.cursor?.block ?? 0,
      logger: this.log,
      source: async (signal) => {
        const conn = await this.client.connection(signal, Infinity);
        return new IndexerBlockSource(conn.api, conn.signal, this.log);
      },
    });
    this.stream = stream;
    this.loop = this.follow(stream);
  }

  private async follow(stream: EventStream<LocatedEvent>): Promise<void> {
    try {
      for await (const block of stream) await this.store(block);
    } catch (err) {
      if (!this.abort.signal.aborted) this.log.error({ err }, 'indexer stopped following the chain');
    }
  }

  private async store(block: IndexedBlock): Promise<void> {
    const cursor = { block: block.blockNumber, hash: block.blockHash };
    await this.sql.transaction(async (tx) => {
      for (const { index, at, event } of block.events) {
        await applyEvent(tx, event, { block: block.blockNumber, blockHash: block.blockHash, index, at });
      }
      await writeCursor(tx, cursor);
    });
    this.cursor = cursor;
    this.emit('block', cursor);
  }

  /** The cursor to follow from, after rebuilding the store when the chain can't continue it. */
  private async reconcile(api: ApiPromise, source: IndexerBlockSource): Promise<Cursor | null> {
    let cursor = await readCursor(this.sql);
    if (cursor) {
      const hash = (await api.rpc.chain.getBlockHash(cursor.block)).toHex();
      if (hash !== cursor.hash) {
        this.log.warn({ cursor, chainHash: hash }, 'the chain does not hold the stored block: reindexing from scratch');
        cursor = null;
      }
    }
    const head = await source.finalizedHead();
    const from = cursor?.block ?? 0;
    if (from < head && !(await this.replayable(source, from + 1))) {
      const hash = (await api.rpc.chain.getBlockHash(head)).toHex();
      this.log.warn({ from, head }, 'the chain cannot replay the blocks after the cursor: rebuilding from the state at its head');
      const events = await stateAsEvents(api, hash);
      const snap = { block: head, hash };
      await this.sql.transaction(async (tx) => {
        await clearChainTables(tx);
        let index = 0;
        for (const event of events) await applyEvent(tx, event, { block: head, blockHash: hash, index: index++, at: 0 });
        await writeCursor(tx, snap);
      });
      return snap;
    }
    if (!cursor && (await readCursor(this.sql))) await this.sql.transaction(clearChainTables);
    return cursor;
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
  }
}

async function clearChainTables(tx: SqlTx): Promise<void> {
  for (const t of CHAIN_TABLES) await tx.run(`DELETE FROM ${t}`);
  await tx.run("DELETE FROM meta WHERE key IN ('cursor_block', 'cursor_hash')");
}
