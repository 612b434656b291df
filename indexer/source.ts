import type { Logger } from '../lib/log.ts';
import { RpcBlockSource, type BlockEvents, type BlockSource, type Connection } from '../chain/client/index.ts';
import { decodeIndexerEvent, type IndexerEvent } from './events.ts';

/** One indexed event with where it happened: its index in the block and the block time (unix s). */
export interface LocatedEvent {
  index: number;
  at: number;
  event: IndexerEvent;
}

export type IndexedBlock = BlockEvents<LocatedEvent>;

/**
 * A BlockSource for the indexer over one live connection: for each block its hash, its
 * System.Events and Timestamp.Now, decoded into IndexerEvents. Like the node's RpcBlockSource,
 * it fails with its connection, so a dropped connection fails the watch and the EventStream
 * resumes on the next one from the last stored block.
 */
export class IndexerBlockSource implements BlockSource<LocatedEvent> {
  private readonly heads: RpcBlockSource;
  /** The highest finalized head seen, and the next block already being fetched. */
  private head = -1;
  private ahead: { n: number; block: Promise<IndexedBlock> } | null = null;

  constructor(
    conn: Connection,
    private readonly log: Logger,
  ) {
    this.heads = new RpcBlockSource(conn, log);
  }

  async finalizedHead(): Promise<number> {
    const head = await this.heads.finalizedHead();
    this.head = Math.max(this.head, head);
    return head;
  }

  /**
   * Block `n`, with block `n + 1` fetched meanwhile when the chain already has it: while the
   * follower stores one block the next is on its way, so a backlog is read at store speed
   * instead of store + round trips per block.
   */
  async blockEvents(blockNumber: number): Promise<IndexedBlock> {
    const ahead = this.ahead?.n === blockNumber ? this.ahead.block : this.fetch(blockNumber);
    this.ahead = null;
    const block = await ahead;
    const next = blockNumber + 1;
    if (next <= this.head) {
      const pending = this.fetch(next);
      pending.catch(() => undefined); // read (and thrown) when asked for; a stale one is dropped
      this.ahead = { n: next, block: pending };
    }
    return block;
  }

  private async fetch(blockNumber: number): Promise<IndexedBlock> {
    const { hash, records, extra } = await this.heads.blockRecords(blockNumber, [{ section: 'timestamp', name: 'now' }]);
    const nowMs = Number(extra[0]);
    const at = Math.floor(nowMs / 1000);
    const events: LocatedEvent[] = [];
    records.forEach(({ event }, index) => {
      try {
        const decoded = decodeIndexerEvent(event);
        if (decoded) events.push({ index, at, event: decoded });
      } catch (err) {
        // The chain emitted something we cannot read: skip it loudly rather than stall indexing.
        this.log.error({ err, blockNumber, event: `${event.section}.${event.method}` }, 'undecodable chain event skipped');
      }
    });
    return { blockNumber, blockHash: hash, events };
  }

  /** Head watching is the node's: it fails with the connection so the stream can move on. */
  watchFinalized(onHead: (n: number) => void, onError: (err: Error) => void): Promise<() => void> {
    return this.heads.watchFinalized((n) => {
      this.head = Math.max(this.head, n);
      onHead(n);
    }, onError);
  }
}
