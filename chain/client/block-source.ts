import type { Logger } from '../../lib/log.ts';
import type { Connection } from './connection.ts';
import { ChainError, ChainErrorCode, mapRpcError } from './errors.ts';
import { decodeNodeEvent, type BlockEvents, type BlockSource, type NodeEvent } from './events.ts';
import { finalizedBlockNumber } from './queries.ts';
import type { EventRecord } from './runtime.ts';
import { abortable } from './submit.ts';
import type { HexString } from './types.ts';

/**
 * A BlockSource over one live connection: block hashes by number (chain_getBlockHash), the
 * System.Events of each block at its hash, and finalized-head notifications. The connection's
 * signal aborts when it drops, so the watch fails and the stream moves to the next connection.
 */
export class RpcBlockSource implements BlockSource {
  constructor(
    protected readonly conn: Connection,
    protected readonly log: Logger,
  ) {}

  finalizedHead(): Promise<number> {
    return abortable(finalizedBlockNumber(this.conn), this.conn.signal);
  }

  /** The block's hash and its event records; ERR_NOT_FOUND past the head, ERR_STATE_GONE when pruned. */
  async blockRecords(blockNumber: number, extra: Array<{ section: string; name: string }> = []): Promise<{ hash: HexString; records: EventRecord[]; extra: unknown[] }> {
    const what = `events of block ${blockNumber}`;
    const { rpc, runtime, signal } = this.conn;
    try {
      const hash = await abortable(rpc.request<HexString | null>('chain_getBlockHash', [blockNumber]), signal);
      if (!hash) throw new ChainError(ChainErrorCode.notFound, `${what}: no such block`);
      const keys = [runtime.eventsKey, ...extra.map((e) => runtime.storageKey(e.section, e.name))];
      const values = await abortable(Promise.all(keys.map((k) => rpc.request<HexString | null>('state_getStorage', [k, hash]))), signal);
      return {
        hash,
        records: runtime.decodeEvents(values[0]!),
        extra: extra.map((e, i) => runtime.decodeStorage(e.section, e.name, values[i + 1]!)),
      };
    } catch (err) {
      throw mapRpcError(err, what);
    }
  }

  async blockEvents(blockNumber: number): Promise<BlockEvents> {
    const { hash, records } = await this.blockRecords(blockNumber);
    const events: NodeEvent[] = [];
    for (const { event } of records) {
      try {
        const decoded = decodeNodeEvent(event);
        if (decoded) events.push(decoded);
      } catch (err) {
        // A malformed event must not stall the stream; it is logged with its block.
        this.log.error({ err, blockNumber, event: `${event.section}.${event.method}` }, 'undecodable chain event skipped');
      }
    }
    return { blockNumber, blockHash: hash, events };
  }

  async watchFinalized(onHead: (n: number) => void, onError: (err: Error) => void): Promise<() => void> {
    const { rpc, signal } = this.conn;
    const onAbort = () => onError(signal.reason instanceof Error ? signal.reason : new ChainError(ChainErrorCode.disconnected, 'connection lost'));
    if (signal.aborted) {
      onAbort();
      return () => {};
    }
    signal.addEventListener('abort', onAbort, { once: true });
    let unsub: () => void;
    try {
      unsub = await abortable(
        rpc.subscribe('chain_subscribeFinalizedHeads', [], 'chain_unsubscribeFinalizedHeads', (h) => onHead(Number((h as { number: HexString }).number)), onError),
        signal,
      );
    } catch (err) {
      signal.removeEventListener('abort', onAbort);
      throw mapRpcError(err, 'chain.subscribeFinalizedHeads');
    }
    return () => {
      signal.removeEventListener('abort', onAbort);
      unsub();
    };
  }
}
