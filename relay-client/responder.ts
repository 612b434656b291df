import { performance } from 'node:perf_hooks';
import type { Clock } from '../lib/clock.ts';
import { encodeEnvelope, type Envelope } from '../rmb/envelope.ts';
import type { Twin, TwinDirectory } from '../rmb/twins.ts';
import { PeerErrorCode } from './errors.ts';
import { FasterOf } from './faster-of.ts';
import type { ReplayCache } from './replay.ts';
import type { DispatchResult, Router } from './router.ts';
import { openChecking, openEnvelope, sealReply, settled, type Checking, type Opened, type SealContext } from './seal.ts';

/**
 * Incoming requests, from the envelope to the encoded envelope that answers it: the checks
 * (seal.ts), replay protection, the handler (router.ts) and the sealed reply. The peer only
 * sends what comes out. Everything comes back synchronously where nothing has to wait.
 */
export interface ResponderDeps {
  ctx: SealContext;
  twins: TwinDirectory;
  router: Router;
  replay: ReplayCache;
  clock: Clock;
  /** Requests whose timestamp + expiration lies further ahead are refused. */
  maxFutureExpiryS: number;
  /** The context to seal replies with (our own pk may be missing on chain, see peer.ts). */
  sealContext(): SealContext | Promise<SealContext>;
  drop(reason: string, obj: Record<string, unknown>, msg: string): void;
}

/** Bytes to send, or null for a request answered with silence. */
type Answer = Uint8Array | null;

export class Responder {
  /** For read-only commands: check the signature first ('inline') or beside the handler ('aside'). */
  readonly ways = new FasterOf<'inline' | 'aside'>(['inline', 'aside']);

  constructor(private readonly d: ResponderDeps) {}

  /**
   * The answer to a request. A read-only command (router.ts readOnly) may take the 'aside' way:
   * its signature check starts on a worker thread (where one runs) while this thread decrypts
   * the request, runs the handler and seals the answer, so that the check and that work overlap.
   * The answer comes out only once the check has passed; a failed check answers as the checks in
   * order would, and the request id is recorded against replays only after the check, so a forged
   * copy cannot use up a real request's id. The overlap pays only while a core is free (about 20
   * µs of hand-off against the work it hides), so each read-only request takes whichever way has
   * lately been faster from its arrival to its answer (FasterOf).
   */
  respond(e: Envelope, command: string): Answer | Promise<Answer> {
    if (!this.d.router.isReadOnly(command)) return this.checkFirst(e, command);
    const way = this.ways.pick();
    const t0 = performance.now();
    const out = way === 'aside' ? this.checkAside(e, command) : this.checkFirst(e, command);
    return out instanceof Promise ? out.then((a) => this.timed(way, t0, a)) : this.timed(way, t0, out);
  }

  private timed(way: 'inline' | 'aside', t0: number, a: Answer): Answer {
    this.ways.record(way, performance.now() - t0);
    return a;
  }

  private checkFirst(e: Envelope, command: string): Answer | Promise<Answer> {
    const checked = openEnvelope(this.d.ctx, e, this.d.twins, this.nowS());
    return checked instanceof Promise ? checked.then((o) => this.checked(e, command, o)) : this.checked(e, command, checked);
  }

  private checked(e: Envelope, command: string, opened: Opened): Answer | Promise<Answer> {
    if (!opened.ok) return this.rejected(e, command, opened);
    const refused = this.refusal(e, command, opened.twin);
    return refused !== undefined ? refused : this.answer(e, command, opened.twin, opened.payload);
  }

  private checkAside(e: Envelope, command: string): Answer | Promise<Answer> {
    const checking = openChecking(this.d.ctx, e, this.d.twins, this.nowS());
    return checking instanceof Promise ? checking.then((c) => this.aside(e, command, c)) : this.aside(e, command, checking);
  }

  private aside(e: Envelope, command: string, c: Opened | Checking): Answer | Promise<Answer> {
    if (!('verified' in c)) return this.rejected(e, command, c);
    const early = c.opened.ok ? this.answer(e, command, c.twin, c.opened.payload) : null;
    // Never awaited when the check fails: its failure must not go unhandled.
    if (early instanceof Promise) early.catch(() => undefined);
    return c.verified instanceof Promise ? c.verified.then((v) => this.verdict(e, command, c, early, v)) : this.verdict(e, command, c, early, c.verified);
  }

  /** The answer built beside the check (`early`), once the check's verdict is in. */
  private verdict(e: Envelope, command: string, c: Checking, early: Uint8Array | Promise<Uint8Array> | null, verified: boolean): Answer | Promise<Answer> {
    const opened = settled(c, verified);
    if (!opened.ok || early === null) return this.rejected(e, command, opened);
    const refused = this.refusal(e, command, opened.twin);
    return refused !== undefined ? refused : early;
  }

  /** The handler's answer, sealed and encoded. */
  private answer(e: Envelope, command: string, twin: Twin, payload: Uint8Array): Uint8Array | Promise<Uint8Array> {
    const src = e.source!;
    const dispatched = this.d.router.dispatch(payload, { twin: src.twin, connection: src.connection, uid: e.uid, command });
    const ctx = this.d.sealContext();
    if (dispatched instanceof Promise || ctx instanceof Promise) return Promise.all([dispatched, ctx]).then(([r, c]) => this.seal(c, e, twin, r));
    return this.seal(ctx, e, twin, dispatched);
  }

  private seal(ctx: SealContext, e: Envelope, twin: Twin | null, result: DispatchResult): Uint8Array {
    return encodeEnvelope(sealReply(ctx, e, twin, result, this.nowS()));
  }

  /** A request that failed its checks: like the Go peer, silence on expired or non-JSON requests, else an error with rmb-peer's code. */
  private rejected(e: Envelope, command: string, opened: Opened): Answer | Promise<Answer> {
    if (opened.ok) return null;
    this.d.drop(`request_${opened.code}`, { uid: e.uid, twin: e.source?.twin, command, why: opened.reason }, 'rejecting request');
    if (opened.code === PeerErrorCode.expired || opened.code === PeerErrorCode.other) return null;
    return this.error(e, opened.twin, opened.code, opened.reason);
  }

  /** Replay protection of a checked request: undefined to run it, else its answer (null, silence, for a replay). */
  private refusal(e: Envelope, command: string, twin: Twin): Answer | Promise<Answer> | undefined {
    const refused = this.admit(e);
    if (refused === null) return undefined;
    const from = { uid: e.uid, twin: e.source?.twin, command };
    if (refused === 'replay') {
      this.d.drop('replay', from, 'replayed request dropped');
      return null;
    }
    this.d.drop('request_refused', { ...from, why: refused }, 'refusing request');
    return this.error(e, twin, PeerErrorCode.other, refused);
  }

  /**
   * Replay protection of an authenticated request: null to run it, 'replay' to drop it silently,
   * else why it is refused. The expiry is capped so that remembered ids always age out.
   */
  private admit(e: Envelope): string | null {
    const maxAhead = this.d.maxFutureExpiryS;
    if (e.timestamp + e.expiration > this.nowS() + maxAhead) return `envelope expires more than ${maxAhead} s from now`;
    const key = `${e.source!.twin}:${e.source!.connection ?? ''}:${e.uid}`;
    const verdict = this.d.replay.add(key, (e.timestamp + e.expiration) * 1000, this.d.clock.now());
    if (verdict === 'full') return 'node is busy: too many requests in flight, retry later';
    return verdict === 'replay' ? 'replay' : null;
  }

  private error(e: Envelope, twin: Twin | null, code: number, message: string): Uint8Array | Promise<Uint8Array> {
    const body: DispatchResult = { ok: false, code, message };
    const ctx = this.d.sealContext();
    return ctx instanceof Promise ? ctx.then((c) => this.seal(c, e, twin, body)) : this.seal(ctx, e, twin, body);
  }

  private nowS(): number {
    return Math.floor(this.d.clock.now() / 1000);
  }
}
