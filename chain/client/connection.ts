import { EventEmitter, setMaxListeners } from 'node:events';
import type { Logger } from '../../lib/log.ts';
import { Backoff } from '../../lib/backoff.ts';
import { type Clock, systemClock } from '../../lib/clock.ts';
import { RpcBlockSource } from './block-source.ts';
import { contractCalls } from './contracts.ts';
import { ChainError, ChainErrorCode, mapRpcError } from './errors.ts';
import { EventStream } from './events.ts';
import type { ChainSigner } from './extrinsic.ts';
import { loadRuntime, type ChainInfo, type RuntimeCache } from './metadata-cache.ts';
import { queries } from './queries.ts';
import { registrationCalls } from './registration.ts';
import { RpcConnection } from './rpc.ts';
import type { Runtime } from './runtime.ts';
import { abortable, Submitter, submitCall, type TxContext } from './submit.ts';

/**
 * The policy half of the chain client: several endpoints, failover and reconnect with backoff.
 * The one-shot calls (queries.ts, registration.ts, contracts.ts) are bound to whichever
 * connection is live; a call running when that connection drops fails with a retriable
 * ERR_DISCONNECTED, and retrying is the caller's policy (node/registrar.ts loops).
 */

export interface ConnectChainOptions {
  /** ws:// or wss:// endpoints, tried in order; after a drop the next one is used. */
  urls: string[];
  logger: Logger;
  clock?: Clock;
  backoff?: Backoff;
  /** Limit for one connection attempt (socket + metadata). */
  connectTimeoutMs?: number;
  /**
   * Where runtime metadata is kept per genesis hash and spec version, so a start with an
   * unchanged runtime skips fetching it (default: memory only). A devnet whose runtime changes
   * without a spec bump would be read with stale metadata, so only the node (its data dir) and
   * the CLI (userMetadataDir()) keep it on disk.
   */
  metadataCacheDir?: string | null;
  /** How long a call waits for a connection before failing with ERR_DISCONNECTED. */
  callWaitMs?: number;
  inBlockTimeoutMs?: number;
}

/** One live connection. `signal` aborts (with a ChainError) when it drops or the client closes. */
export interface Connection {
  /** JSON-RPC over the connection's socket (also for the devnet's dev_* methods). */
  rpc: RpcConnection;
  /** Storage, call and event codecs of the chain's runtime. */
  runtime: Runtime;
  chain: ChainInfo;
  url: string;
  generation: number;
  signal: AbortSignal;
}

type Queries = typeof queries;
const accountCalls = { ...registrationCalls, ...contractCalls, submit: submitCall } as const;
type AccountCalls = typeof accountCalls;
type Rest<F, First> = F extends (first: First, ...rest: infer A) => Promise<infer R> ? (...rest: A) => Promise<R> : never;
export type BoundQueries = { [K in keyof Queries]: Rest<Queries[K], Connection> };
export type AccountClient = { [K in keyof AccountCalls]: Rest<AccountCalls[K], TxContext> };

interface Live extends Connection {
  controller: AbortController;
}

export class ChainClient extends EventEmitter<{ connected: [url: string]; disconnected: [url: string] }> {
  readonly query: BoundQueries;
  private readonly opts: Required<Omit<ConnectChainOptions, 'backoff' | 'metadataCacheDir'>> & { backoff: Backoff };
  private readonly runtimes: RuntimeCache;
  private readonly log: Logger;
  private readonly submitter: Submitter;
  private readonly closing = new AbortController();
  private readonly streams = new Set<EventStream>();
  private live: Live | null = null;
  private generation = 0;
  private loop: Promise<void> | null = null;
  private closed: Promise<void> | null = null;
  private waiters = new Set<() => void>();

  constructor(opts: ConnectChainOptions) {
    super();
    if (opts.urls.length === 0) throw new ChainError(ChainErrorCode.badInput, 'connectChain needs at least one URL');
    for (const u of opts.urls) {
      if (!/^wss?:\/\//.test(u)) throw new ChainError(ChainErrorCode.badInput, `chain URL must be ws:// or wss://: ${u}`);
    }
    const clock = opts.clock ?? systemClock;
    this.opts = {
      urls: [...opts.urls],
      logger: opts.logger,
      clock,
      backoff: opts.backoff ?? new Backoff({ initialMs: 500, maxMs: 30_000, clock }),
      connectTimeoutMs: opts.connectTimeoutMs ?? 15_000,
      callWaitMs: opts.callWaitMs ?? 10_000,
      inBlockTimeoutMs: opts.inBlockTimeoutMs ?? 60_000,
    };
    this.runtimes = { dir: opts.metadataCacheDir ?? null, loaded: new Map() };
    this.log = opts.logger;
    this.submitter = new Submitter({ logger: this.log, clock, inBlockTimeoutMs: this.opts.inBlockTimeoutMs });
    this.query = Object.fromEntries(
      Object.entries(queries).map(([name, fn]) => [
        name,
        (...args: unknown[]) => this.run((c) => (fn as (c: Connection, ...a: unknown[]) => Promise<unknown>)(c, ...args)),
      ]),
    ) as BoundQueries;
  }

  /** Starts connecting; resolves once a first connection is ready. */
  async start(): Promise<void> {
    if (this.closed) throw new ChainError(ChainErrorCode.closed, 'chain client is closed');
    this.loop ??= this.connectLoop();
    await this.connection(undefined, Infinity);
  }

  /** Closes streams and the connection; idempotent. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing.abort(new ChainError(ChainErrorCode.closed, 'chain client closed'));
      for (const w of this.waiters) w();
      await Promise.all([...this.streams].map((s) => s.close()));
      const live = this.live;
      if (live) await this.drop(live, new ChainError(ChainErrorCode.closed, 'chain client closed'));
      await this.loop;
    })();
    return this.closed;
  }

  get url(): string | null {
    return this.live?.url ?? null;
  }

  /** The live connection, waiting up to `waitMs` for one. */
  async connection(signal?: AbortSignal, waitMs = this.opts.callWaitMs): Promise<Connection> {
    if (!this.loop) throw new ChainError(ChainErrorCode.notStarted, 'chain client not started: call start()');
    const deadline = waitMs === Infinity ? null : this.opts.clock.setTimeout(() => wake(), waitMs);
    let wake = () => {};
    try {
      for (;;) {
        if (this.closing.signal.aborted) throw new ChainError(ChainErrorCode.closed, 'chain client is closed');
        signal?.throwIfAborted();
        if (this.live) return this.live;
        let timedOut = false;
        await new Promise<void>((resolve) => {
          const w = () => {
            this.waiters.delete(w);
            signal?.removeEventListener('abort', w);
            resolve();
          };
          wake = () => {
            timedOut = true;
            w();
          };
          this.waiters.add(w);
          signal?.addEventListener('abort', w, { once: true });
        });
        if (timedOut && !this.live) {
          throw new ChainError(ChainErrorCode.disconnected, `no chain connection within ${waitMs} ms (endpoints: ${this.opts.urls.join(', ')})`);
        }
      }
    } finally {
      deadline?.cancel();
    }
  }

  /** Runs `fn` on the live connection; if that connection drops meanwhile it fails ERR_DISCONNECTED. */
  async run<T>(fn: (c: Connection) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const c = await this.connection(signal);
    try {
      return await abortable(fn(c), c.signal);
    } catch (err) {
      throw mapRpcError(err, 'chain call');
    }
  }

  /** The one-shot account calls (registration and contracts), signed by `pair`. */
  as(pair: ChainSigner): AccountClient {
    return Object.fromEntries(
      Object.entries(accountCalls).map(([name, fn]) => [
        name,
        (...args: unknown[]) =>
          this.run((c) =>
            (fn as (ctx: TxContext, ...a: unknown[]) => Promise<unknown>)(
              { conn: c, pair, submitter: this.submitter, signal: c.signal, clock: this.opts.clock },
              ...args,
            ),
          ),
      ]),
    ) as AccountClient;
  }

  /** Node events per finalized block after `after` (see EventStream); closed with the client. */
  events(opts: { after: number | 'head'; logger?: Logger }): EventStream {
    const log = opts.logger ?? this.log.child({ component: 'chain-events' });
    const stream: EventStream = new EventStream({
      after: opts.after,
      logger: log,
      clock: this.opts.clock,
      source: async (signal) => {
        const c = await this.connection(signal, Infinity);
        return new RpcBlockSource(c, log);
      },
      onClose: () => this.streams.delete(stream),
    });
    this.streams.add(stream);
    return stream;
  }

  private async connectLoop(): Promise<void> {
    const { urls, backoff } = this.opts;
    let index = 0;
    let failuresInRound = 0;
    while (!this.closing.signal.aborted) {
      const url = urls[index % urls.length]!;
      index++;
      try {
        const live = await this.dial(url);
        backoff.reset();
        failuresInRound = 0;
        await new Promise<void>((resolve) => {
          const done = () => {
            this.closing.signal.removeEventListener('abort', done);
            resolve();
          };
          // close() may have come while this connection was being made: no abort event follows.
          if (live.signal.aborted || this.closing.signal.aborted) return done();
          live.signal.addEventListener('abort', done, { once: true });
          this.closing.signal.addEventListener('abort', done, { once: true });
        });
        if (this.closing.signal.aborted) {
          // close() may have run before this connection became live: end it here.
          await this.drop(live, new ChainError(ChainErrorCode.closed, 'chain client closed'));
          break;
        }
        // A drop sends us to the next endpoint, after a pause.
      } catch (err) {
        if (this.closing.signal.aborted) break;
        this.log.warn({ url, err: (err as Error).message }, 'chain endpoint unavailable');
        // Try every endpoint once before pausing.
        if (++failuresInRound < urls.length) continue;
        failuresInRound = 0;
      }
      try {
        await backoff.wait(this.closing.signal);
      } catch {
        break;
      }
    }
  }

  private async dial(url: string): Promise<Live> {
    const rpc = await RpcConnection.open(url, this.opts.connectTimeoutMs, this.closing.signal);
    let runtime: { runtime: Runtime; chain: ChainInfo };
    try {
      runtime = await new Promise((resolve, reject) => {
        const timer = this.opts.clock.setTimeout(() => reject(new ChainError(ChainErrorCode.timeout, `connect to ${url} timed out`)), this.opts.connectTimeoutMs);
        // close() ends a handshake under way instead of waiting for the chain's answers.
        const onClosing = () => reject(this.closing.signal.reason);
        if (this.closing.signal.aborted) onClosing();
        this.closing.signal.addEventListener('abort', onClosing, { once: true });
        rpc.onClose(reject);
        loadRuntime(rpc, this.runtimes, this.log)
          .then(resolve, reject)
          .finally(() => {
            timer.cancel();
            this.closing.signal.removeEventListener('abort', onClosing);
          });
      });
    } catch (err) {
      rpc.close();
      throw mapRpcError(err, `connect to ${url}`);
    }
    const controller = new AbortController();
    // Every call in flight listens on its connection's signal until it settles (abortable): the
    // count is the calls in flight, not a leak, so node's default warning at 11 does not apply.
    setMaxListeners(0, controller.signal);
    const live: Live = { rpc, ...runtime, url, controller, signal: controller.signal, generation: ++this.generation };
    rpc.onClose(() => void this.drop(live, new ChainError(ChainErrorCode.disconnected, `connection to ${url} lost`)));
    this.live = live;
    this.log.info({ url, generation: live.generation }, 'chain connected');
    this.emit('connected', url);
    for (const w of this.waiters) w();
    return live;
  }

  /** Ends one connection; only the first call per connection acts (a stale drop cannot end a newer one). */
  private async drop(live: Live, reason: ChainError): Promise<void> {
    if (live.controller.signal.aborted) return;
    live.controller.abort(reason);
    if (this.live === live) this.live = null;
    if (reason.code === ChainErrorCode.disconnected) this.log.warn({ url: live.url }, 'chain connection lost');
    this.emit('disconnected', live.url);
    live.rpc.close(reason);
  }
}

/** A chain client over `urls` with failover; call start() to connect and close() when done. */
export function connectChain(opts: ConnectChainOptions): ChainClient {
  return new ChainClient(opts);
}
