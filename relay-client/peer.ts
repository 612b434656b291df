import { randomUUID } from 'node:crypto';
import { Backoff } from '../lib/backoff.ts';
import { bounded } from '../lib/bounded.ts';
import { type Clock, systemClock } from '../lib/clock.ts';
import { type Logger, silentLogger } from '../lib/log.ts';
import { relayField } from './chain-twins.ts';
import { RelayConnection } from './connection.ts';
import { SharedKeyCache } from './e2e.ts';
import { encodeEnvelope, type Envelope } from '../rmb/envelope.ts';
import { RelayClientError } from './errors.ts';
import type { Identity } from './identity.ts';
import { createJwt, DEFAULT_JWT_TTL_S } from '../rmb/jwt.ts';
import { RateLimitedLog } from '../lib/ratelog.ts';
import { MAX_FUTURE_EXPIRY_S, ReplayCache, type ReplayBackend } from './replay.ts';
import { PendingRequests, type ReplyChecks, type SendBound } from './pending.ts';
import { Router, type Handler } from './router.ts';
import { Responder } from './responder.ts';
import { OutgoingSeal } from './outgoing-seal.ts';
import { openEnvelope, ownAddress, sealRequest, type SealContext } from './seal.ts';
import { lookupTwin, type Twin, type TwinDirectory } from '../rmb/twins.ts';

const encoder = new TextEncoder();

/**
 * An outbound-only RMB peer: all connection policy lives here (the requests it waits on are in pending.ts). One connection per relay;
 * a ping envelope every 20 s, which the relay answers with a pong envelope through the session it
 * has registered for us (as the official TS client pings); a connection that brought no envelope
 * for 40 s is dropped and redialled with backoff and a fresh JWT. Only envelopes count: a relay
 * that lost track of our session while the socket stayed open still answers WebSocket pings
 * (ws and tungstenite do that themselves), so a WS-level check would keep a connection that
 * nothing is routed to. Requests go out on a healthy connection, incoming traffic is read from all.
 */
export interface RelayPeerOptions {
  identity: Identity;
  twinId: number;
  /** ws:// or wss:// relay URLs. */
  relays: string[];
  /** Public relay hostnames for the signed `relays` field; default: the hostnames of `relays`. */
  relayHosts?: string[];
  twins: TwinDirectory;
  /** Session id (JWT `sid`); omitted = the None session that nodes use. */
  sid?: string;
  /** Encrypt payloads when the destination has a pk (default true). */
  encrypt?: boolean;
  clock?: Clock;
  log?: Logger;
  pingIntervalMs?: number;
  silenceTimeoutMs?: number;
  backoff?: { initialMs?: number; maxMs?: number };
  jwtTtlS?: number;
  requestTimeoutMs?: number;
  /** Extra trusted CA certificates (PEM) for wss:// relays. */
  ca?: string | Buffer;
  /** Where accepted request ids are remembered until they expire (default in memory; a node persists it). */
  replay?: ReplayBackend;
  /** Requests whose timestamp + expiration lies further ahead are refused (default MAX_FUTURE_EXPIRY_S). */
  maxFutureExpiryS?: number;
}

export interface RequestOptions {
  timeoutMs?: number;
}

/** The connection a frame went out on. */
interface Via {
  slot: Slot;
  gen: number;
}

interface Slot {
  url: string;
  conn: RelayConnection | null;
  /** Bumped per connection so a stale connection's timers and failures are ignored. */
  gen: number;
  lastRecv: number;
}

export class RelayPeer {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly rlog: RateLimitedLog;
  private readonly router = new Router();
  private readonly replay: ReplayCache;
  private readonly pending: PendingRequests<Via>;
  private readonly slots: Slot[];
  private readonly ctx: SealContext;
  private readonly seal: OutgoingSeal;
  /** Incoming requests, up to the bytes of their answer. */
  readonly responder: Responder;
  private readonly healthyWaiters = new Set<() => void>();
  private readonly abort = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private readonly inflight = new Set<Promise<void>>();
  private state: 'new' | 'running' | 'closed' = 'new';
  private closing: Promise<void> | null = null;
  readonly stats = { sent: 0, received: 0, dropped: {} as Record<string, number> };

  constructor(private readonly opts: RelayPeerOptions) {
    if (opts.relays.length === 0) throw new RelayClientError('ERR_CONNECTION', 'at least one relay URL is required');
    this.clock = opts.clock ?? systemClock;
    this.log = (opts.log ?? silentLogger()).child({ twin: opts.twinId });
    this.rlog = new RateLimitedLog(this.log, { clock: this.clock });
    this.slots = opts.relays.map((url) => ({ url, conn: null, gen: 0, lastRecv: 0 }));
    this.replay = new ReplayCache(opts.replay);
    this.pending = new PendingRequests(this.clock, (bytes, until) => this.send(bytes, null, until));
    this.ctx = {
      identity: opts.identity,
      twinId: opts.twinId,
      sid: opts.sid,
      relayHosts: relayField(opts.relayHosts ?? opts.relays).split('_'),
      encrypt: opts.encrypt ?? true,
      keys: new SharedKeyCache(opts.identity.secpSecret),
    };
    this.seal = new OutgoingSeal(this.ctx, opts.twins, opts.identity.secpPublic, this.rlog);
    this.responder = new Responder({
      ctx: this.ctx, twins: opts.twins, router: this.router, replay: this.replay, clock: this.clock,
      maxFutureExpiryS: opts.maxFutureExpiryS ?? MAX_FUTURE_EXPIRY_S,
      sealContext: () => this.seal.context(),
      drop: (reason, obj, msg) => this.drop(reason, obj, msg),
    });
  }

  /** Registers a handler for an incoming command (see router.ts for the reply rules). */
  handle(command: string, handler: Handler): void {
    this.router.handle(command, handler);
  }

  /** Starts one connection loop per relay; returns at once (see connected()). */
  async start(): Promise<void> {
    if (this.state === 'closed') throw new RelayClientError('ERR_CLOSED', 'peer is closed');
    if (this.state === 'running') return;
    this.state = 'running';
    for (const slot of this.slots) this.loops.push(this.runSlot(slot, this.abort.signal));
  }

  /** Resolves once at least one relay connection is up. */
  connected(signal?: AbortSignal): Promise<void> {
    return this.waitHealthy(signal);
  }

  /**
   * Sends a request and resolves to the decoded JSON reply; rejects with RmbError, TimeoutError or
   * RelayClientError. With the twins cached (the usual case) the request is sealed and handed to
   * the socket before this returns, and the promise returned is the one its reply settles: no
   * async wrapper, whose extra promise cost the caller two microtask turns per reply.
   */
  request<T = unknown>(twin: number, command: string, payload?: unknown, opts: RequestOptions = {}): Promise<T> {
    try {
      if (this.state !== 'running') throw new RelayClientError(this.state === 'closed' ? 'ERR_CLOSED' : 'ERR_NOT_STARTED', `peer is ${this.state}`);
      const found = lookupTwin(this.opts.twins, twin);
      const ctx = this.seal.context();
      if (found instanceof Promise || ctx instanceof Promise) {
        return Promise.all([found, ctx]).then(([dest, c]) => this.sendRequest<T>(dest, c, twin, command, payload, opts));
      }
      return this.sendRequest<T>(found, ctx, twin, command, payload, opts);
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  private sendRequest<T>(dest: Twin | null, ctx: SealContext, twin: number, command: string, payload: unknown, opts: RequestOptions): Promise<T> {
    if (!dest) throw new RelayClientError('ERR_UNKNOWN_TWIN', `twin not found ${twin}`);
    const timeoutMs = opts.timeoutMs ?? this.opts.requestTimeoutMs ?? 30_000;
    const uid = randomUUID();
    const body = payload === undefined ? new Uint8Array(0) : encoder.encode(JSON.stringify(payload));
    const env = sealRequest(ctx, {
      uid, dest, command, payload: body, nowS: this.nowS(), expirationS: Math.max(1, Math.ceil(timeoutMs / 1000)),
    });
    return this.pending.add<T>(uid, twin, command, timeoutMs, encodeEnvelope(env));
  }

  /** Idempotent: stops the loops, closes connections and fails pending requests with ERR_CLOSED. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.state = 'closed';
      this.abort.abort(new RelayClientError('ERR_CLOSED', 'peer is closed'));
      for (const slot of this.slots) slot.conn?.close('peer closed');
      this.pending.failAll(new RelayClientError('ERR_CLOSED', 'peer closed before the reply arrived'));
      for (const w of this.healthyWaiters) w();
      await bounded(Promise.allSettled([...this.loops, ...this.inflight]), 5_000);
      this.replay.close();
    })();
    return this.closing;
  }

  private nowS(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  private isHealthy(slot: Slot): boolean {
    const silence = this.opts.silenceTimeoutMs ?? 40_000;
    return slot.conn !== null && !slot.conn.isDead && this.clock.now() - slot.lastRecv < silence;
  }

  private waitHealthy(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (this.state === 'closed') return reject(new RelayClientError('ERR_CLOSED', 'peer is closed')), true;
        if (signal?.aborted) return reject(new RelayClientError('ERR_CONNECTION', 'no healthy relay connection')), true;
        if (this.slots.some((s) => this.isHealthy(s))) return resolve(), true;
        return false;
      };
      if (check()) return;
      const wake = () => {
        if (check()) {
          this.healthyWaiters.delete(wake);
          signal?.removeEventListener('abort', wake);
        }
      };
      this.healthyWaiters.add(wake);
      signal?.addEventListener('abort', wake, { once: true });
    });
  }

  /**
   * Sends on `preferred` when healthy, else on the first healthy connection: at once when one
   * is up (no promise: the frame is handed to the socket now), else waiting for one (sendLater).
   */
  private send(bytes: Uint8Array, preferred: Slot | null, wait?: SendBound | number): Via | Promise<Via> {
    return this.sendNow(bytes, preferred) ?? this.sendLater(bytes, preferred, wait);
  }

  private sendNow(bytes: Uint8Array, preferred: Slot | null): Via | null {
    const slot = preferred && this.isHealthy(preferred) ? preferred : this.slots.find((s) => this.isHealthy(s));
    if (!slot?.conn?.write(bytes)) return null;
    this.stats.sent++;
    return { slot, gen: slot.gen };
  }

  /**
   * Waits for a healthy connection: until the signal `wait` gives aborts, or for `wait` ms (the
   * signal and its timer are only made when there is a wait: most sends have none).
   */
  private async sendLater(bytes: Uint8Array, preferred: Slot | null, wait?: SendBound | number): Promise<Via> {
    const signal = typeof wait === 'number' ? AbortSignal.timeout(wait) : wait?.signal();
    for (;;) {
      await this.waitHealthy(signal);
      const via = this.sendNow(bytes, preferred);
      if (via) return via;
    }
  }

  /** The relay's liveness check of our session: unsigned, to twin 0, as the official TS client sends it. */
  private pingEnvelope(): Uint8Array {
    return encodeEnvelope({
      uid: randomUUID(), tags: '', timestamp: this.nowS(), expiration: 40, source: ownAddress(this.ctx), destination: { twin: 0 },
      message: { kind: 'ping' }, signature: new Uint8Array(0), schema: 'application/json', relays: [],
    });
  }

  private async runSlot(slot: Slot, signal: AbortSignal): Promise<void> {
    const backoff = new Backoff({
      initialMs: this.opts.backoff?.initialMs ?? 2_000,
      maxMs: this.opts.backoff?.maxMs ?? 30_000,
      clock: this.clock,
    });
    const log = this.log.child({ relay: slot.url });
    while (!signal.aborted) {
      try {
        const jwt = createJwt(this.opts.identity, {
          twin: this.opts.twinId, sid: this.opts.sid, nowS: this.nowS(), ttlS: this.opts.jwtTtlS ?? DEFAULT_JWT_TTL_S,
        });
        const conn = await RelayConnection.dial({ url: slot.url, jwt, signal, ca: this.opts.ca });
        backoff.reset();
        log.info('relay connected');
        await this.serve(slot, conn, log);
      } catch (err) {
        if (signal.aborted) break;
        this.rlog.warn(`dial:${slot.url}`, { relay: slot.url, err: (err as Error).message }, 'relay dial failed');
      }
      if (signal.aborted) break;
      await backoff.wait(signal).catch(() => undefined);
    }
  }

  /** Read loop for one connection; returns when it dies. */
  private async serve(slot: Slot, conn: RelayConnection, log: Logger): Promise<void> {
    const gen = ++slot.gen;
    slot.conn = conn;
    slot.lastRecv = this.clock.now();
    for (const w of [...this.healthyWaiters]) w();
    const pingMs = this.opts.pingIntervalMs ?? 20_000;
    const silenceMs = this.opts.silenceTimeoutMs ?? 40_000;
    const timers: { ping?: { cancel(): void }; watchdog?: { cancel(): void } } = {};
    const schedulePing = () => {
      timers.ping = this.clock.setTimeout(() => {
        if (slot.gen !== gen || conn.isDead) return;
        conn.write(this.pingEnvelope());
        schedulePing();
      }, pingMs);
    };
    const scheduleWatchdog = (ms: number) => {
      timers.watchdog = this.clock.setTimeout(() => {
        const idle = this.clock.now() - slot.lastRecv;
        if (idle >= silenceMs) this.reconnect(slot, gen, `no traffic for ${idle} ms`, log);
        else scheduleWatchdog(silenceMs - idle);
      }, ms);
    };
    schedulePing();
    scheduleWatchdog(silenceMs);
    try {
      conn.onIncoming((m) => {
        if (m.kind === 'envelope') {
          slot.lastRecv = this.clock.now();
          this.stats.received++;
          this.handleEnvelope(m.envelope, slot);
        } else if (m.kind === 'bad-frame') {
          this.drop('bad_frame', { reason: m.reason }, 'undecodable frame from relay');
        }
      });
      const err = await conn.dead;
      if (!this.abort.signal.aborted) log.info({ err: err.message }, 'relay connection lost');
    } finally {
      timers.ping?.cancel();
      timers.watchdog?.cancel();
      if (slot.gen === gen) slot.conn = null;
      conn.close();
      // Frames written just before a connection died may be lost in flight (no relay ack).
      this.pending.resend((via) => via.slot === slot && via.gen === gen);
    }
  }

  /** Drops the current connection of a slot; a no-op for a stale generation. */
  private reconnect(slot: Slot, gen: number, reason: string, log: Logger): void {
    if (slot.gen !== gen || !slot.conn) return;
    log.warn({ reason }, 'relay connection unhealthy, reconnecting');
    slot.conn.close(reason);
  }

  private track(p: Promise<void>): void {
    const t = p.catch((err: unknown) => this.log.error({ err }, 'incoming envelope handling failed'));
    this.inflight.add(t);
    void t.finally(() => this.inflight.delete(t));
  }

  /**
   * An incoming envelope, handled at once; only work that has to wait (a twin lookup, a check on
   * a worker, an async handler, a connection) leaves a promise, tracked until it settles. A
   * promise and its tracking per envelope cost more than the rest of a synchronous reply's
   * plumbing.
   */
  private handleEnvelope(e: Envelope, slot: Slot): void {
    try {
      const later = this.onEnvelope(e, slot);
      if (later) this.track(later);
    } catch (err) {
      this.log.error({ err }, 'incoming envelope handling failed');
    }
  }

  private readonly replyChecks: ReplyChecks = {
    open: (e) => openEnvelope(this.ctx, e, this.opts.twins, this.nowS()),
    drop: (reason, obj, msg) => this.drop(reason, obj, msg),
  };

  private drop(reason: string, obj: Record<string, unknown>, msg: string): void {
    this.stats.dropped[reason] = (this.stats.dropped[reason] ?? 0) + 1;
    this.rlog.warn(reason, { reason, ...obj }, msg);
  }

  private onEnvelope(e: Envelope, slot: Slot): void | Promise<void> {
    switch (e.message?.kind) {
      case 'request':
        return this.onRequest(e, e.message.command, slot);
      case 'response':
      case 'error':
        return this.pending.onReply(e, this.replyChecks);
      case 'pong':
      case 'ping':
        return;
      default:
        this.drop('no_message', { uid: e.uid }, 'envelope without a message');
    }
  }

  private onRequest(e: Envelope, command: string, slot: Slot): void | Promise<void> {
    const out = this.responder.respond(e, command);
    return out instanceof Promise ? out.then((bytes) => this.reply(e, command, slot, bytes)) : this.reply(e, command, slot, out);
  }

  private reply(e: Envelope, command: string, slot: Slot, bytes: Uint8Array | null): void | Promise<void> {
    if (!bytes) return;
    const sent = this.send(bytes, slot, 30_000);
    if (sent instanceof Promise) {
      return sent.then(
        () => undefined,
        (err: Error) => this.drop('reply_send_failed', { uid: e.uid, twin: e.source?.twin, command, err: err.message }, 'could not send reply'),
      );
    }
  }
}
