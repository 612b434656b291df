import type { ApiPromise, SubmittableResult } from '@polkadot/api';
import type { SubmittableExtrinsic } from '@polkadot/api/types';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { Logger } from '../../lib/log.ts';
import { type Clock, systemClock } from '../../lib/clock.ts';
import { ChainError, ChainErrorCode, mapDispatchError, mapRpcError } from './errors.ts';
import type { HexString } from './types.ts';

export type Extrinsic = SubmittableExtrinsic<'promise'>;

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

/** What a one-shot call needs to sign and submit: the live API, the signer and the submitter. */
export interface TxContext {
  api: ApiPromise;
  pair: KeyringPair;
  submitter: Submitter;
  /** Aborted when the connection drops or the client closes. */
  signal?: AbortSignal;
  clock?: Clock;
}

/** Submits through the context's submitter. */
export function send(ctx: TxContext, tx: Extrinsic): Promise<TxResult> {
  return ctx.submitter.submit(ctx.api, ctx.pair, tx, ctx.signal);
}

/** Signs and submits any extrinsic built on the live API (e.g. balances.transferKeepAlive). */
export function submitCall(ctx: TxContext, build: (api: ApiPromise) => Extrinsic): Promise<TxResult> {
  return send(ctx, build(ctx.api));
}

export interface SubmitterOptions {
  logger: Logger;
  clock?: Clock;
  /** How long to wait for inBlock before giving up (the tx may still land). */
  inBlockTimeoutMs?: number;
}

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

  async submit(api: ApiPromise, pair: KeyringPair, tx: Extrinsic, signal?: AbortSignal): Promise<TxResult> {
    const release = await this.lock(pair.address, signal);
    try {
      return await this.submitLocked(api, pair, tx, signal);
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

  private async submitLocked(api: ApiPromise, pair: KeyringPair, tx: Extrinsic, signal?: AbortSignal): Promise<TxResult> {
    const call = `${tx.method.section}.${tx.method.method}`;
    signal?.throwIfAborted();
    let nonce;
    try {
      nonce = await abortable(api.rpc.system.accountNextIndex(pair.address), signal);
    } catch (err) {
      throw mapRpcError(err, call);
    }
    const log = this.log.child({ call, account: pair.address, nonce: nonce.toNumber() });
    return new Promise<TxResult>((resolve, reject) => {
      let unsub: (() => void) | undefined;
      let settled = false;
      const timer = this.clock.setTimeout(
        () => finish(new ChainError(ChainErrorCode.timeout, `${call}: not in a block after ${this.timeoutMs} ms (it may still be included)`, { call })),
        this.timeoutMs,
      );
      const onAbort = () => finish(abortError(signal, call));
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
      const onStatus = (result: SubmittableResult) => {
        const { status } = result;
        // Finalized implies included; polkadot-js drops the InBlock result when Finalized follows at once.
        if (status.isInBlock || status.isFinalized) {
          if (result.dispatchError) {
            const err = mapDispatchError(api.registry, result.dispatchError, call);
            log.debug({ code: err.code }, 'extrinsic failed');
            finish(err);
            return;
          }
          finish({
            txHash: result.txHash.toHex(),
            blockHash: (status.isInBlock ? status.asInBlock : status.asFinalized).toHex(),
            blockNumber: result.blockNumber ? result.blockNumber.toNumber() : null,
            events: result.events.map(({ event }) => ({
              section: event.section,
              method: event.method,
              data: event.data.toJSON() as unknown[],
            })),
          });
        } else if (status.isInvalid || status.isDropped || status.isUsurped) {
          finish(new ChainError(ChainErrorCode.txDropped, `${call}: transaction ${status.type.toLowerCase()} by the pool`, { call }));
        }
      };
      tx.signAndSend(pair, { nonce }, onStatus).then(
        (u) => {
          if (settled) u();
          else unsub = u;
        },
        (err: unknown) => finish(mapRpcError(err, call)),
      );
    });
  }
}

function abortError(signal: AbortSignal | undefined, call: string): ChainError {
  const reason: unknown = signal?.reason;
  if (reason instanceof ChainError) return reason;
  return new ChainError(ChainErrorCode.closed, `${call}: aborted`, { call, cause: reason });
}

/** Races a promise against an AbortSignal; the reason (a ChainError when we abort) is thrown. */
export function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(abortError(signal, 'call'));
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
