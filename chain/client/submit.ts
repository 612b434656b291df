import { Blake2256 } from '@polkadot-api/substrate-bindings';
import type { Logger } from '../../lib/log.ts';
import { type Clock, systemClock } from '../../lib/clock.ts';
import type { Connection } from './connection.ts';
import { ChainError, ChainErrorCode, mapDispatchError, mapRpcError } from './errors.ts';
import { type ChainSigner, signExtrinsic } from './extrinsic.ts';
import type { Call } from './scale.ts';
import { toHex } from './scale.ts';
import type { HexString } from './types.ts';

/** An event emitted by one extrinsic, with its data as polkadot-js JSON (field order of the metadata). */
export interface TxEvent {
  section: string;
  method: string;
  data: unknown[];
}

export interface TxResult {
  txHash: HexString;
  blockHash: HexString;
  blockNumber: number | null;
  /** Events of this extrinsic only, in order (pallet events, then System.ExtrinsicSuccess). */
  events: TxEvent[];
}

/** What a one-shot call needs to sign and submit: the live connection, the signer and the submitter. */
export interface TxContext {
  conn: Connection;
  pair: ChainSigner;
  submitter: Submitter;
  /** Aborted when the connection drops or the client closes. */
  signal?: AbortSignal;
  clock?: Clock;
}

/** Submits through the context's submitter. */
export function send(ctx: TxContext, call: Call): Promise<TxResult> {
  return ctx.submitter.submit(ctx.conn, ctx.pair, call, ctx.signal);
}

/** Signs and submits any call (e.g. `new Call('balances', 'transferKeepAlive', [to, amount])`). */
export function submitCall(ctx: TxContext, call: Call): Promise<TxResult> {
  return send(ctx, call);
}

export interface SubmitterOptions {
  logger: Logger;
  clock?: Clock;
  /** How long to wait for inBlock before giving up (the tx may still land). */
  inBlockTimeoutMs?: number;
}

/** Blocks an extrinsic stays valid for (mortal era from the finalized head, as polkadot-js signs). */
const MORTAL_PERIOD = 64;

type TxStatus = string | Record<string, unknown>;

/**
 * Signs and submits extrinsics. Submissions of one account are serialised, so each takes a
 * fresh nonce from `system_accountNextIndex` (which counts pool transactions) and nonces never
 * collide inside this process. Resolves when the extrinsic is in a block.
 */
export class Submitter {
  private readonly tails = new Map<string, Promise<void>>();
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly timeoutMs: number;

  constructor(opts: SubmitterOptions) {
    this.log = opts.logger;
    this.clock = opts.clock ?? systemClock;
    this.timeoutMs = opts.inBlockTimeoutMs ?? 60_000;
  }

  async submit(conn: Connection, pair: ChainSigner, call: Call, signal?: AbortSignal): Promise<TxResult> {
    const release = await this.lock(pair.address, signal);
    try {
      return await this.submitLocked(conn, pair, call, signal);
    } finally {
      release();
    }
  }

  /** Waits for the previous submission of this account; resolves to the release function. */
  private async lock(address: string, signal?: AbortSignal): Promise<() => void> {
    const previous = this.tails.get(address) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(address, tail);
    const done = () => {
      release();
      if (this.tails.get(address) === tail) this.tails.delete(address);
    };
    try {
      await abortable(previous, signal);
    } catch (err) {
      // Keep the chain intact: our slot is released once the previous holder finishes.
      void previous.then(done);
      throw err;
    }
    return done;
  }

  /** The signed extrinsic: nonce, and a mortal era from the finalized head. */
  private async sign(conn: Connection, pair: ChainSigner, call: Call, signal?: AbortSignal): Promise<{ xt: Uint8Array; nonce: number }> {
    const { rpc, runtime, chain } = conn;
    const [nonce, head] = await abortable(
      Promise.all([
        rpc.request<number>('system_accountNextIndex', [pair.address]),
        rpc.request<HexString>('chain_getFinalizedHead').then(async (hash) => ({ hash, header: await rpc.request<{ number: HexString }>('chain_getHeader', [hash]) })),
      ]),
      signal,
    );
    const era = { blockHash: head.hash, blockNumber: Number(head.header.number), period: MORTAL_PERIOD };
    return { nonce, xt: signExtrinsic(runtime, call, pair, { nonce, ...chain, era }) };
  }

  private async submitLocked(conn: Connection, pair: ChainSigner, call: Call, signal?: AbortSignal): Promise<TxResult> {
    const name = `${call.section}.${call.method}`;
    signal?.throwIfAborted();
    let signed;
    try {
      signed = await this.sign(conn, pair, call, signal);
    } catch (err) {
      throw mapRpcError(err, name);
    }
    const { xt, nonce } = signed;
    const xtHex = toHex(xt);
    const txHash = toHex(Blake2256(xt));
    const log = this.log.child({ call: name, account: pair.address, nonce });
    return new Promise<TxResult>((resolve, reject) => {
      let unsub: (() => void) | undefined;
      let settled = false;
      let included = false;
      const timer = this.clock.setTimeout(
        () => finish(new ChainError(ChainErrorCode.timeout, `${name}: not in a block after ${this.timeoutMs} ms (it may still be included)`, { call: name })),
        this.timeoutMs,
      );
      const onAbort = () => finish(abortError(signal, name));
      signal?.addEventListener('abort', onAbort, { once: true });
      const finish = (outcome: Error | TxResult) => {
        if (settled) return;
        settled = true;
        timer.cancel();
        signal?.removeEventListener('abort', onAbort);
        unsub?.();
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      const onStatus = (status: TxStatus) => {
        if (settled || included) return;
        const blockHash = typeof status === 'object' ? ((status.inBlock ?? status.finalized) as HexString | undefined) : undefined;
        if (blockHash) {
          // Finalized implies included; the first of the two settles.
          included = true;
          outcomeIn(conn, blockHash, xtHex, name).then(
            ({ events, blockNumber, failure }) => {
              if (failure) log.debug({ code: failure.code }, 'extrinsic failed');
              finish(failure ?? { txHash, blockHash, blockNumber, events });
            },
            (err: unknown) => finish(mapRpcError(err, name)),
          );
        } else if (status === 'invalid' || status === 'dropped' || (typeof status === 'object' && 'usurped' in status)) {
          const kind = typeof status === 'string' ? status : 'usurped';
          finish(new ChainError(ChainErrorCode.txDropped, `${name}: transaction ${kind} by the pool`, { call: name }));
        }
      };
      const onEnd = (err: Error) => finish(mapRpcError(err, name));
      conn.rpc.subscribe('author_submitAndWatchExtrinsic', [xtHex], 'author_unwatchExtrinsic', (v) => onStatus(v as TxStatus), onEnd).then(
        (u) => {
          if (settled) u();
          else unsub = u;
        },
        (err: unknown) => finish(mapRpcError(err, name)),
      );
    });
  }
}

/** The extrinsic's own events in the block that holds it, and its dispatch error if it failed. */
async function outcomeIn(conn: Connection, blockHash: HexString, xtHex: string, name: string): Promise<{ events: TxEvent[]; blockNumber: number | null; failure: ChainError | null }> {
  const [block, data] = await Promise.all([
    conn.rpc.request<{ block: { header: { number: HexString }; extrinsics: string[] } } | null>('chain_getBlock', [blockHash]),
    conn.rpc.request<HexString | null>('state_getStorage', [conn.runtime.eventsKey, blockHash]),
  ]);
  const index = block?.block.extrinsics.indexOf(xtHex) ?? -1;
  if (!block || index < 0) throw new ChainError(ChainErrorCode.notFound, `${name}: the extrinsic is not in block ${blockHash}`);
  const events = conn.runtime
    .decodeEvents(data)
    .filter((r) => (r.phase as { applyExtrinsic?: number } | null)?.applyExtrinsic === index)
    .map((r) => r.event);
  const failed = events.find((e) => e.section === 'system' && e.method === 'ExtrinsicFailed');
  return { events, blockNumber: Number(block.block.header.number), failure: failed ? mapDispatchError(conn.runtime, failed.data[0], name) : null };
}

function abortError(signal: AbortSignal | undefined, call: string): ChainError {
  const reason: unknown = signal?.reason;
  if (reason instanceof ChainError) return reason;
  return new ChainError(ChainErrorCode.closed, `${call}: aborted`, { call, cause: reason });
}

/** Races a promise against an AbortSignal; the reason (a ChainError when we abort) is thrown. */
export function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) {
    p.catch(() => {}); // the abort reason is what the caller hears; p's own failure has no one else to tell
    return Promise.reject(abortError(signal, 'call'));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal, 'call'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
