import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/log.ts';
import { addressKey, decodeEnvelope, encodeEnvelope, sameAddress, type Address, type Envelope } from '../rmb/envelope.ts';
import type { RateLimitedLog } from '../lib/ratelog.ts';
import { twinRelays, type TwinDirectory } from '../rmb/twins.ts';
import { RelayWireError } from './errors.ts';
import type { Federator } from './federation.ts';
import { QueueFullError } from './limits.ts';
import type { RelayMetrics } from './metrics.ts';
import type { TwinRateLimiter } from './ratelimit.ts';
import type { Session } from './session.ts';
import type { QueueStore } from './store.ts';

/**
 * Routing (reference §6 "Per binary frame"): sessions by (twin, sid), newest wins; local
 * delivery, per-session queues for offline sessions, federation for twins on other relays,
 * and the relay's own error envelopes (requests only; no source, unsigned).
 */
export interface SwitchDeps {
  twins: TwinDirectory;
  store: QueueStore;
  domains: Set<string>;
  federator: Federator;
  metrics: RelayMetrics;
  clock: Clock;
  log: Logger;
  rlog: RateLimitedLog;
  limiter?: TwinRateLimiter;
}

export const ERROR_EXPIRATION_S = 300;
const BATCH = 100;

interface Drain {
  running: boolean;
  cursor: string | null;
}

export class Switch {
  readonly sessions = new Map<string, Session>();
  /** Sessions per twin, for the per-twin session bound. */
  private readonly perTwin = new Map<number, number>();
  private readonly drains = new WeakMap<Session, Drain>();
  private readonly work = new Set<Promise<void>>();

  constructor(private readonly d: SwitchDeps) {}

  /** Registers a session; an older connection of the same (twin, sid) is closed. */
  register(s: Session): void {
    const old = this.sessions.get(s.key);
    this.sessions.set(s.key, s);
    if (!old) this.perTwin.set(s.address.twin, this.twinSessions(s.address.twin) + 1);
    if (old && old !== s) old.close(4000, 'replaced by a newer connection');
    this.d.metrics.sessions.set({}, this.sessions.size);
    this.drains.set(s, { running: false, cursor: null });
    this.kick(s);
  }

  unregister(s: Session): void {
    if (this.sessions.get(s.key) === s) {
      this.sessions.delete(s.key);
      const left = this.twinSessions(s.address.twin) - 1;
      if (left > 0) this.perTwin.set(s.address.twin, left);
      else this.perTwin.delete(s.address.twin);
    }
    this.d.metrics.sessions.set({}, this.sessions.size);
  }

  twinSessions(twin: number): number {
    return this.perTwin.get(twin) ?? 0;
  }

  /**
   * Handles one binary frame from an authenticated session. Returns false when the frame is not
   * an envelope; at once when it went to a live session (no promise per hop), else by promise.
   */
  route(s: Session, bytes: Uint8Array): boolean | Promise<boolean> {
    let env: Envelope;
    try {
      env = decodeEnvelope(bytes);
    } catch {
      this.d.metrics.drops.inc({ reason: 'bad_frame' });
      return false;
    }
    this.d.metrics.received.inc();
    if (this.d.limiter && !this.d.limiter.allow(s.address.twin, bytes.length)) {
      return this.refuse(env, s.address, RelayWireError.rateLimited, 'rate_limited');
    }
    if (!sameAddress(env.source, s.address)) return this.refuse(env, s.address, RelayWireError.wrongSource, 'wrong_source');
    if (env.message?.kind === 'ping') {
      // Answered only on the session registered for the sender, as rmb-rs routes the pong to the
      // sender's session: a connection the relay no longer routes to gets none, so its peer,
      // which counts only envelopes as signs of life, reconnects (relay-client/peer.ts).
      if (this.sessions.get(s.key) !== s) {
        this.d.metrics.drops.inc({ reason: 'ping_unregistered' });
        return true;
      }
      s.enqueue({ bytes: encodeEnvelope(pong(env)) });
      this.d.metrics.messages.inc({ kind: 'pong' });
      return true;
    }
    const forwarded = this.forward(env, bytes);
    return forwarded instanceof Promise ? forwarded.then(() => true) : true;
  }

  /**
   * Federation ingest (`POST /`, unauthenticated as in rmb-rs): returns the HTTP status and
   * body. Only a destination with a session here, or a twin on chain that names one of our
   * domains, is queued, so made-up twins cannot fill the relay.
   */
  async ingest(bytes: Uint8Array): Promise<{ status: number; body: string }> {
    let env: Envelope;
    try {
      env = decodeEnvelope(bytes);
    } catch (err) {
      this.d.metrics.drops.inc({ reason: 'federation_bad_envelope' });
      return { status: 400, body: (err as Error).message };
    }
    const dst = env.destination;
    if (!dst || dst.twin === 0) return { status: 400, body: RelayWireError.missingDestination };
    const key = addressKey(dst);
    if (!this.sessions.has(key)) {
      if (failFast(env.tags)) return { status: 404, body: RelayWireError.destinationOffline };
      const refused = await this.notOurs(dst.twin);
      if (refused) {
        this.d.metrics.drops.inc({ reason: refused.reason });
        return { status: refused.status, body: refused.body };
      }
    }
    const failed = await this.deliver(key, bytes);
    if (failed) return { status: failed instanceof QueueFullError && failed.scope === 'queue' ? 429 : 503, body: failed.message };
    this.d.metrics.messages.inc({ kind: 'federated_in' });
    return { status: 202, body: '' };
  }

  /** Why a federated envelope for `twin` must not be queued here; null when it may. */
  private async notOurs(twin: number): Promise<{ status: number; body: string; reason: string } | null> {
    let found;
    try {
      found = await this.d.twins.getTwin(twin);
    } catch (err) {
      return { status: 503, body: `failed to get twin: ${(err as Error).message}`, reason: 'federation_lookup_failed' };
    }
    if (!found) return { status: 404, body: RelayWireError.unknownTwin, reason: 'federation_unknown_twin' };
    if (!twinRelays(found).some((r) => this.d.domains.has(r))) {
      return { status: 404, body: RelayWireError.notOurTwin, reason: 'federation_not_ours' };
    }
    return null;
  }

  /** Error envelope for a request that could not be federated; goes to its sender session. */
  rejectFederated(env: Envelope, message: string): void {
    if (env.message?.kind !== 'request' || !env.source) return;
    const err = this.errorEnvelope(env, env.source, message);
    this.track(this.deliver(addressKey(env.source), encodeEnvelope(err)).then(() => undefined));
  }

  private forward(env: Envelope, bytes: Uint8Array): void | Promise<void> {
    const src = env.source!;
    const dst = env.destination;
    if (!dst || dst.twin === 0) return void this.refuse(env, src, RelayWireError.missingDestination, 'missing_destination');
    const key = addressKey(dst);
    if (this.sessions.has(key)) return this.deliverOrRefuse(env, key, bytes);
    return this.forwardAway(env, src, dst, key, bytes);
  }

  /** A destination with no session here: another relay's twin, or one of ours to queue for. */
  private async forwardAway(env: Envelope, src: Address, dst: Address, key: string, bytes: Uint8Array): Promise<void> {
    let twin;
    try {
      twin = await this.d.twins.getTwin(dst.twin);
    } catch (err) {
      this.d.rlog.warn('twin_lookup', { twin: dst.twin, err: (err as Error).message }, 'twin lookup failed');
      return void this.refuse(env, src, `${RelayWireError.routeFailed}: ${(err as Error).message}`, 'lookup_failed');
    }
    if (!twin) return void this.refuse(env, src, RelayWireError.unknownTwin, 'unknown_twin');
    const relays = twinRelays(twin);
    if (relays.length === 0) return void this.refuse(env, src, RelayWireError.relayNotSet, 'relay_not_set');
    if (!relays.some((r) => this.d.domains.has(r))) {
      const full = this.d.federator.send(env, bytes, relays);
      if (full) this.refuse(env, src, `${RelayWireError.routeFailed}: ${full}`, 'federation_full');
      return;
    }
    if (failFast(env.tags) && !this.d.store.shared) {
      return void this.refuse(env, src, RelayWireError.destinationOffline, 'destination_offline');
    }
    return this.deliverOrRefuse(env, key, bytes);
  }

  /** Delivers; a request that cannot be stored gets an error envelope back to its sender. */
  private deliverOrRefuse(env: Envelope, key: string, bytes: Uint8Array): void | Promise<void> {
    if (this.deliverLive(key, bytes)) return;
    return this.deliver(key, bytes).then((failed) => {
      if (failed) this.refuse(env, env.source!, `${RelayWireError.routeFailed}: ${failed.message}`, 'not_stored');
    });
  }

  /** To the live session when it is caught up; false when there is none. */
  private deliverLive(key: string, bytes: Uint8Array): boolean {
    const s = this.sessions.get(key);
    if (!s || !s.backlogDone || s.isClosed) return false;
    s.enqueue({ bytes });
    this.d.metrics.delivered.inc();
    return true;
  }

  /** To the live session when it is caught up, else into its queue; the error when it could not be stored. */
  private async deliver(key: string, bytes: Uint8Array): Promise<Error | null> {
    if (this.deliverLive(key, bytes)) return null;
    try {
      await this.d.store.append(key, bytes);
      this.d.metrics.messages.inc({ kind: 'queued' });
    } catch (err) {
      const full = err instanceof QueueFullError;
      this.d.metrics.drops.inc({ reason: full ? `${err.scope}_full` : 'store_error' });
      this.d.rlog.warn(full ? 'store_full' : 'store_append', { key, err: (err as Error).message }, 'queue append failed');
      return err as Error;
    }
    const now = this.sessions.get(key);
    if (now) this.kick(now);
    return null;
  }

  /** Replays a session's stored queue into its send queue, in order, as room frees up. */
  private kick(s: Session): void {
    const dr = this.drains.get(s);
    if (!dr || dr.running) return;
    dr.running = true;
    this.track(
      this.drain(s, dr).finally(() => {
        dr.running = false;
      }),
    );
  }

  private async drain(s: Session, dr: Drain): Promise<void> {
    const { store } = this.d;
    for (;;) {
      if (s.isClosed || this.sessions.get(s.key) !== s) return;
      await s.waitRoom(BATCH);
      let batch;
      try {
        batch = await store.read(s.key, dr.cursor, Math.max(1, Math.min(BATCH, s.room)));
      } catch (err) {
        this.d.rlog.warn('store_read', { key: s.key, err: (err as Error).message }, 'queue read failed');
        return;
      }
      if (batch.length === 0) {
        if (s.backlogDone) return;
        // One more read after switching to live delivery catches appends that raced with us.
        s.backlogDone = true;
        continue;
      }
      for (const m of batch) {
        s.enqueue({ bytes: m.bytes, ack: () => void store.remove(s.key, [m.id]).catch(() => undefined) });
        this.d.metrics.delivered.inc();
      }
      dr.cursor = batch[batch.length - 1]!.id;
    }
  }

  /** Shared stores: cursors of caught-up sessions, for the watch loop. */
  watchCursors(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [key, s] of this.sessions) {
      const dr = this.drains.get(s);
      if (s.backlogDone && dr && !dr.running) out.set(key, dr.cursor ?? '0-0');
    }
    return out;
  }

  /** Delivers what the watch loop read from a shared store. */
  deliverWatched(key: string, msgs: { id: string; bytes: Uint8Array }[]): void {
    const s = this.sessions.get(key);
    const dr = s && this.drains.get(s);
    if (!s || !dr || dr.running || msgs.length === 0) return;
    for (const m of msgs) {
      s.enqueue({ bytes: m.bytes, ack: () => void this.d.store.remove(key, [m.id]).catch(() => undefined) });
      this.d.metrics.delivered.inc();
    }
    dr.cursor = msgs[msgs.length - 1]!.id;
  }

  async idle(): Promise<void> {
    while (this.work.size > 0) await Promise.allSettled([...this.work]);
  }

  private track(p: Promise<void>): void {
    const t = p.catch((err: unknown) => this.d.log.error({ err }, 'switch task failed'));
    this.work.add(t);
    void t.finally(() => this.work.delete(t));
  }

  private refuse(env: Envelope, sender: Address, message: string, reason: string): true {
    this.d.metrics.drops.inc({ reason });
    // Only requests get an answer (rmb-rs build_error_envelope).
    if (env.message?.kind !== 'request') return true;
    this.track(this.deliver(addressKey(sender), encodeEnvelope(this.errorEnvelope(env, sender, message))).then(() => undefined));
    return true;
  }

  private errorEnvelope(req: Envelope, sender: Address, message: string): Envelope {
    return {
      uid: req.uid,
      timestamp: Math.floor(this.d.clock.now() / 1000),
      expiration: ERROR_EXPIRATION_S,
      destination: sender,
      message: { kind: 'error', code: 0, message },
      relays: [],
    };
  }
}

/** rmb-rs app-level ping answer: pong, addresses swapped, "hello world" appended to plain. */
export function pong(ping: Envelope): Envelope {
  const plain = ping.payload?.kind === 'plain' ? ping.payload.data : new Uint8Array(0);
  const data = new Uint8Array(plain.length + 11);
  data.set(plain);
  data.set(new TextEncoder().encode('hello world'), plain.length);
  return {
    ...ping,
    message: { kind: 'pong' },
    source: ping.destination,
    destination: ping.source,
    payload: { kind: 'plain', data },
  };
}

/** True when the comma/whitespace separated tags contain `fail-fast`. */
export function failFast(tags: string | undefined): boolean {
  return !!tags && tags.split(/[\s,]+/).includes('fail-fast');
}
