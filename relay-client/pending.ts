import type { Clock } from '../lib/clock.ts';
import type { Envelope } from '../rmb/envelope.ts';
import { RelayClientError, RmbError, TimeoutError } from './errors.ts';
import type { Opened } from './seal.ts';

const SETTLED = new Error('request settled');

/** What a request's `send` is given: the signal that bounds waiting for a connection. */
export interface SendBound {
  signal(): AbortSignal;
}

/**
 * The requests a peer waits on, by uid: each one's timeout, sending it again when the connection
 * it left on dies, and settling it from a reply that passed its checks. Which connection to send
 * on is the peer's policy (peer.ts); this table only knows the `Via` it was told.
 *
 * A request waiting for its reply: its methods, not closures made per request, do the work.
 */
class Pending<Via> implements SendBound {
  /** The connection the request went out on; if it dies before the reply, we send again. */
  via: Via | undefined = undefined;
  settled = false;
  /**
   * Aborted when the request settles; bounds waiting for a connection. Made only when a send
   * has to wait: one per request (and its abort event) was 6.5 of the 8.7 µs this table cost
   * per request.
   */
  done: AbortController | null = null;

  constructor(
    private readonly table: PendingRequests<Via>,
    readonly uid: string,
    readonly dest: number,
    readonly command: string,
    readonly timeoutMs: number,
    /** The encoded request, sent again after a drop. */
    readonly bytes: Uint8Array,
    readonly resolve: (v: unknown) => void,
    readonly reject: (e: Error) => void,
  ) {
    this.deadline = table.clock.now() + timeoutMs;
  }

  /** Clock time after which the request fails with timedOut(). */
  readonly deadline: number;

  timedOut(): Error {
    return new TimeoutError(`no response to ${this.command} from twin ${this.dest} after ${this.timeoutMs} ms`);
  }

  /** Puts the request on a connection (again after a drop): at once, or once one is up. */
  transmit(): void {
    this.via = undefined;
    const sent = this.table.send(this.bytes, this);
    if (!(sent instanceof Promise)) this.via = sent;
    else sent.then((via) => (this.via = via), (err: Error) => this.table.sendFailed(this, err));
  }

  signal(): AbortSignal {
    this.done ??= new AbortController();
    if (this.settled) this.done.abort(SETTLED);
    return this.done.signal;
  }
}

const utf8 = new TextDecoder();

/** What a reply needs from the peer: the checks of an envelope, and where drops are counted. */
export interface ReplyChecks {
  open(e: Envelope): Opened | Promise<Opened>;
  drop(reason: string, obj: Record<string, unknown>, msg: string): void;
}

export class PendingRequests<Via> {
  private readonly table = new Map<string, Pending<Via>>();
  /**
   * One timer for the whole table, armed for the earliest deadline it knows of: it is not
   * cancelled when that request settles, only when a new deadline comes earlier (or at failAll),
   * and when it fires it fails the requests past their deadline and is armed for the next one.
   * A timer per request (set, then cleared by its reply) cost two timer-list updates and native
   * calls per round trip, ~3-7 µs of it at one in flight (bench/parts/rmb-profile.ts).
   */
  private timer: { cancel(): void } | null = null;
  private timerAt = Infinity;

  /**
   * `send` puts a request's bytes on a connection (again after a drop: the receiver drops a
   * second copy by uid, so that is safe), waiting for one until the signal `until.signal()`
   * gives aborts (at settling).
   */
  constructor(
    readonly clock: Clock,
    readonly send: (bytes: Uint8Array, until: SendBound) => Via | Promise<Via>,
  ) {}

  /** Sends `bytes`, the request `uid` for `command` to twin `dest`, and waits for its reply (TimeoutError after `timeoutMs`). */
  add<T>(uid: string, dest: number, command: string, timeoutMs: number, bytes: Uint8Array): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const p = new Pending<Via>(this, uid, dest, command, timeoutMs, bytes, resolve as (v: unknown) => void, reject);
      this.table.set(uid, p);
      if (p.deadline < this.timerAt) this.arm(p.deadline);
      p.transmit();
    });
  }

  /** A send that could not wait for a connection any longer fails its request. */
  sendFailed(p: Pending<Via>, err: Error): void {
    if (this.table.get(p.uid) === p && !p.settled) this.settle(p.uid, p, err);
  }

  private arm(at: number): void {
    this.timer?.cancel();
    this.timerAt = at;
    this.timer = this.clock.setTimeout(() => this.expire(), Math.max(0, at - this.clock.now()));
  }

  /** The timer fired: fails the requests past their deadline, then waits for the next deadline. */
  private expire(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const now = this.clock.now();
    let next = Infinity;
    for (const [uid, p] of this.table) {
      if (p.deadline <= now) this.settle(uid, p, p.timedOut());
      else if (p.deadline < next) next = p.deadline;
    }
    if (next < Infinity) this.arm(next);
  }

  /** Sends again every request that went out on a connection `lost` says is gone. */
  resend(lost: (via: Via) => boolean): void {
    for (const p of this.table.values()) if (p.via !== undefined && lost(p.via)) p.transmit();
  }

  /** Fails every request (the peer closes). */
  failAll(err: Error): void {
    for (const [uid, p] of this.table) this.settle(uid, p, err);
    this.timer?.cancel();
    this.timer = null;
    this.timerAt = Infinity;
  }

  /**
   * A response or error envelope: relay errors settle at once, others only once their checks pass
   * (synchronously where the checks are: a promise only when they wait).
   */
  onReply(e: Envelope, checks: ReplyChecks): void | Promise<void> {
    const p = this.table.get(e.uid);
    if (!p) return checks.drop('unexpected_reply', { uid: e.uid }, 'reply to no pending request');
    if (e.message?.kind === 'error' && !e.source) {
      // Relay-generated errors carry no source and no signature (reference §5).
      this.settle(e.uid, p, new RmbError(e.message.code, e.message.message, true));
      return;
    }
    if (e.source?.twin !== p.dest) return checks.drop('wrong_replier', { uid: e.uid, twin: e.source?.twin }, 'reply from another twin');
    const checked = checks.open(e);
    if (checked instanceof Promise) return checked.then((opened) => this.checkedReply(e, p, opened, checks));
    this.checkedReply(e, p, checked, checks);
  }

  private checkedReply(e: Envelope, p: Pending<Via>, opened: Opened, checks: ReplyChecks): void {
    // A reply that fails its checks may be forged: drop it and keep waiting for the real one.
    if (!opened.ok) return checks.drop('bad_reply', { uid: e.uid, code: opened.code, why: opened.reason }, 'discarding reply');
    if (this.table.get(e.uid) !== p) return; // settled by another copy meanwhile
    if (e.message?.kind === 'error') return this.settle(e.uid, p, new RmbError(e.message.code, e.message.message));
    if (opened.payload.length === 0) return this.settle(e.uid, p, null, null);
    try {
      this.settle(e.uid, p, null, JSON.parse(utf8.decode(opened.payload)));
    } catch {
      this.settle(e.uid, p, new RelayClientError('ERR_BAD_PAYLOAD', 'reply payload is not JSON'));
    }
  }

  private settle(uid: string, p: Pending<Via>, err: Error | null, value?: unknown): void {
    this.table.delete(uid);
    p.settled = true;
    p.done?.abort(SETTLED); // a fixed reason: the default one builds a DOMException
    if (err) p.reject(err);
    else p.resolve(value);
  }
}

