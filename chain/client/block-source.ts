import type { ApiPromise } from '@polkadot/api';
import type { EventRecord } from '@polkadot/types/interfaces';
import type { Logger } from '../../lib/log.ts';
import { ChainError, ChainErrorCode, mapRpcError } from './errors.ts';
import { decodeNodeEvent, type BlockEvents, type BlockSource, type NodeEvent } from './events.ts';
import { finalizedBlockNumber } from './queries.ts';
import { abortable } from './submit.ts';

/**
 * A BlockSource over one live connection: block hashes by number (chain_getBlockHash), the
 * System.Events of each block at its hash, and finalized-head notifications. `signal` is the
 * connection's: when it aborts, the watch fails so the stream moves to the next connection.
 */
export class ApiBlockSource implements BlockSource {
  constructor(
    private readonly api: ApiPromise,
    private readonly signal: AbortSignal,
    private readonly log: Logger,
  ) {}

  finalizedHead(): Promise<number> {
    return abortable(finalizedBlockNumber(this.api), this.signal);
  }

  async blockEvents(blockNumber: number): Promise<BlockEvents> {
    const what = `events of block ${blockNumber}`;
    let hash;
    let records: EventRecord[];
    try {
      hash = await abortable(this.api.rpc.chain.getBlockHash(blockNumber), this.signal);
      if (hash.isEmpty) throw new ChainError(ChainErrorCode.notFound, `${what}: no such block`);
      records = (await abortable(this.api.query.system.events.at(hash), this.signal)) as unknown as EventRecord[];
    } catch (err) {
      throw mapRpcError(err, what);
    }
    const events: NodeEvent[] = [];
    for (const { event } of records) {
      try {
        const decoded = decodeNodeEvent({ section: event.section, method: event.method, data: event.data.toJSON() as unknown[] });
        if (decoded) events.push(decoded);
      } catch (err) {
        // A malformed event must not stall the stream; it is logged with its block.
        this.log.error({ err, blockNumber, event: `${event.section}.${event.method}` }, 'undecodable chain event skipped');
      }
    }
    return { blockNumber, blockHash: hash.toHex(), events };
  }

  async watchFinalized(onHead: (n: number) => void, onError: (err: Error) => void): Promise<() => void> {
    const onAbort = () =>
      onError(this.signal.reason instanceof Error ? this.signal.reason : new ChainError(ChainErrorCode.disconnected, 'connection lost'));
    if (this.signal.aborted) {
      onAbort();
      return () => {};
    }
    this.signal.addEventListener('abort', onAbort, { once: true });
    let unsub: () => void;
    try {
      unsub = await abortable(
        this.api.rpc.chain.subscribeFinalizedHeads((header) => onHead(header.number.toNumber())),
        this.signal,
      );
    } catch (err) {
      this.signal.removeEventListener('abort', onAbort);
      throw mapRpcError(err, 'chain.subscribeFinalizedHeads');
    }
    return () => {
      this.signal.removeEventListener('abort', onAbort);
      try {
        unsub();
      } catch {
        // Unsubscribing over a dead connection fails; there is nothing left to release.
      }
    };
  }
}
