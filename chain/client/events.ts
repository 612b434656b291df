import { z } from 'zod';
import type { Logger } from '../../lib/log.ts';
import { Backoff } from '../../lib/backoff.ts';
import { type Clock, systemClock } from '../../lib/clock.ts';
import { decode, publicConfigSchema, twinSchema, uint } from './codec.ts';
import { ChainError, ChainErrorCode, isChainError } from './errors.ts';
import type { HexString, Power, PublicConfig, Twin } from './types.ts';

/** The chain events a zos node reacts to (zos-node reference §6), decoded. */
export type NodeEvent =
  | { kind: 'NodeContractCanceled'; contractId: number; nodeId: number; twinId: number }
  | { kind: 'NameContractCanceled'; contractId: number }
  | { kind: 'ContractGracePeriodStarted'; contractId: number; nodeId: number; twinId: number; blockNumber: number }
  | { kind: 'ContractGracePeriodEnded'; contractId: number; nodeId: number; twinId: number }
  | { kind: 'PowerTargetChanged'; farmId: number; nodeId: number; target: Power }
  | { kind: 'NodePublicConfigStored'; nodeId: number; config: PublicConfig | null }
  | { kind: 'TwinUpdated'; twin: Twin };

export type NodeEventKind = NodeEvent['kind'];

/**
 * One finalized block's events (possibly none: every block is delivered, in order). `E` is
 * what the source decodes: node events for a node, every indexed event for the indexer.
 */
export interface BlockEvents<E = NodeEvent> {
  blockNumber: number;
  blockHash: HexString;
  events: E[];
  /**
   * Set when the state of blocks `from`..`to` is gone (pruned, or a devnet restored from disk):
   * their events are unknown and the consumer must resynchronise in full before this block.
   */
  missed?: { from: number; to: number };
}

/** An event record as polkadot-js gives it: data is the positional JSON of the fields. */
export interface RawEvent {
  section: string;
  method: string;
  data: unknown[];
}

const ids3 = z.tuple([uint, uint, uint]);
const decoders: Record<string, (data: unknown[]) => NodeEvent> = {
  'smartContractModule.NodeContractCanceled': (d) => {
    const [contractId, nodeId, twinId] = decode(ids3, d, 'NodeContractCanceled');
    return { kind: 'NodeContractCanceled', contractId, nodeId, twinId };
  },
  'smartContractModule.NameContractCanceled': (d) => ({ kind: 'NameContractCanceled', contractId: decode(z.tuple([uint]), d, 'NameContractCanceled')[0] }),
  'smartContractModule.ContractGracePeriodStarted': (d) => {
    const [contractId, nodeId, twinId, blockNumber] = decode(z.tuple([uint, uint, uint, uint]), d, 'ContractGracePeriodStarted');
    return { kind: 'ContractGracePeriodStarted', contractId, nodeId, twinId, blockNumber };
  },
  'smartContractModule.ContractGracePeriodEnded': (d) => {
    const [contractId, nodeId, twinId] = decode(ids3, d, 'ContractGracePeriodEnded');
    return { kind: 'ContractGracePeriodEnded', contractId, nodeId, twinId };
  },
  'tfgridModule.PowerTargetChanged': (d) => {
    const [farmId, nodeId, target] = decode(z.tuple([uint, uint, z.enum(['Up', 'Down'])]), d, 'PowerTargetChanged');
    return { kind: 'PowerTargetChanged', farmId, nodeId, target };
  },
  'tfgridModule.NodePublicConfigStored': (d) => {
    const [nodeId, config] = decode(z.tuple([uint, publicConfigSchema.nullable()]), d, 'NodePublicConfigStored');
    return { kind: 'NodePublicConfigStored', nodeId, config };
  },
  'tfgridModule.TwinUpdated': (d) => ({ kind: 'TwinUpdated', twin: decode(z.tuple([twinSchema]), d, 'TwinUpdated')[0] }),
};

/** Decodes one record: a NodeEvent, null for events we do not follow; throws ERR_DECODE when malformed. */
export function decodeNodeEvent(raw: RawEvent): NodeEvent | null {
  const decoder = decoders[`${raw.section}.${raw.method}`];
  return decoder ? decoder(raw.data) : null;
}

/** Where blocks come from; the live one wraps a connection (block-source.ts), tests use tables. */
export interface BlockSource<E = NodeEvent> {
  finalizedHead(): Promise<number>;
  blockEvents(blockNumber: number): Promise<BlockEvents<E>>;
  /** Reports every new finalized head number; onError ends the watch (e.g. connection lost). */
  watchFinalized(onHead: (blockNumber: number) => void, onError: (err: Error) => void): Promise<() => void>;
}

/** Latest head seen, awaited by the follower; a failure is kept until read. */
class HeadSignal {
  private latest = -1;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;

  push(n: number): void {
    if (n > this.latest) this.latest = n;
    this.wake?.();
  }

  fail(err: Error): void {
    this.failure ??= err;
    this.wake?.();
  }

  /** Resolves with the latest head once it is above `than`. */
  async above(than: number, signal: AbortSignal): Promise<number> {
    while (this.latest <= than) {
      if (this.failure) throw this.failure;
      signal.throwIfAborted();
      await new Promise<void>((resolve) => {
        const done = () => {
          this.wake = null;
          signal.removeEventListener('abort', done);
          resolve();
        };
        this.wake = done;
        signal.addEventListener('abort', done, { once: true });
      });
    }
    return this.latest;
  }
}

/**
 * Every block after `after` from one source, in order and exactly once: first the backlog up
 * to the finalized head, then each new finalized head (filling any numbers the head skipped).
 * A block whose state is gone is not retried: the stream jumps to the finalized head and marks
 * the skipped range as `missed`. Ends by throwing when the source fails.
 */
export async function* followBlocks<E>(source: BlockSource<E>, after: number, signal: AbortSignal): AsyncGenerator<BlockEvents<E>> {
  const heads = new HeadSignal();
  // Watch before reading the head so that no head between the two is missed.
  const unwatch = await source.watchFinalized(
    (n) => heads.push(n),
    (err) => heads.fail(err),
  );
  try {
    heads.push(await source.finalizedHead());
    let next = after + 1;
    for (;;) {
      const target = await heads.above(next - 1, signal);
      while (next <= target) {
        signal.throwIfAborted();
        let block: BlockEvents<E>;
        try {
          block = await source.blockEvents(next);
        } catch (err) {
          if (!isChainError(err, ChainErrorCode.stateGone)) throw err;
          const head = await source.finalizedHead();
          if (head <= next) throw err; // even the head has no state yet: retry later
          block = { ...(await source.blockEvents(head)), missed: { from: next, to: head - 1 } };
          next = head;
        }
        yield block;
        next++;
      }
    }
  } finally {
    unwatch();
  }
}

export interface EventStreamOptions<E = NodeEvent> {
  /** Waits for a connected source; rejects when the client closes. */
  source: (signal: AbortSignal) => Promise<BlockSource<E>>;
  /** Last block already processed; 'head' starts after the current finalized head. */
  after: number | 'head';
  logger: Logger;
  clock?: Clock;
  backoff?: Backoff;
  /** Called once when the stream is closed (the client forgets it). */
  onClose?: () => void;
}

/**
 * Node events per finalized block that survive reconnects: after a failure it takes a new
 * source and resumes at the block after the last one the consumer took. A block counts as
 * processed when the consumer asks for the next one, so persisting `blockNumber` after
 * handling a block and passing it back as `after` gives neither loss nor repeats.
 */
export class EventStream<E = NodeEvent> implements AsyncIterable<BlockEvents<E>> {
  private readonly abort = new AbortController();
  private last: number | null;
  private readonly backoff: Backoff;
  private iterating = false;

  constructor(private readonly opts: EventStreamOptions<E>) {
    this.last = opts.after === 'head' ? null : opts.after;
    this.backoff = opts.backoff ?? new Backoff({ initialMs: 500, maxMs: 15_000, clock: opts.clock ?? systemClock });
  }

  /** The last block handed to and released by the consumer (null before the first). */
  get lastProcessed(): number | null {
    return this.last;
  }

  async close(): Promise<void> {
    if (this.abort.signal.aborted) return;
    this.abort.abort(new ChainError(ChainErrorCode.closed, 'event stream closed'));
    this.opts.onClose?.();
  }

  /** One consumer at a time; a new loop after a `break` resumes after `lastProcessed`. */
  async *[Symbol.asyncIterator](): AsyncGenerator<BlockEvents<E>> {
    if (this.iterating) throw new ChainError(ChainErrorCode.badInput, 'an EventStream has one consumer at a time');
    this.iterating = true;
    try {
      yield* this.follow();
    } finally {
      this.iterating = false;
    }
  }

  private async *follow(): AsyncGenerator<BlockEvents<E>> {
    const signal = this.abort.signal;
    const log = this.opts.logger;
    while (!signal.aborted) {
      try {
        const source = await this.opts.source(signal);
        if (this.last === null) this.last = await source.finalizedHead();
        for await (const block of followBlocks(source, this.last, signal)) {
          this.backoff.reset();
          yield block;
          this.last = block.blockNumber;
        }
      } catch (err) {
        if (signal.aborted) break;
        log.warn({ err, after: this.last }, 'chain event stream interrupted; resuming');
        try {
          await this.backoff.wait(signal);
        } catch {
          break;
        }
      }
    }
  }
}
