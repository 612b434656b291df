import type { Clock } from '../lib/clock.ts';

/**
 * Resource bounds of one relay process, on by default so that no single client (authenticated
 * or not) can grow the relay without limit. rmb-rs bounds queues by count and TTL only and
 * evicts a session that does not read for 60 s; the byte bounds and per-address rates here are
 * ours, because a count bound alone lets 10 000 x 1 MiB sit in every queue.
 */
export interface RelayLimits {
  /** Bytes of stored messages one offline queue may hold; a message past it is refused. */
  queueBytes: number;
  /** Bytes of stored messages across all queues (Redis: the server's used memory). */
  totalQueueBytes: number;
  /** A session whose socket has not drained for this long is disconnected (rmb-rs: 60 s). */
  slowReaderMs: number;
  /** Concurrent sessions (distinct sids) of one twin. */
  sessionsPerTwin: number;
  /** Concurrent sessions in this relay process. */
  maxSessions: number;
  /** WebSocket upgrade attempts per remote address per minute (checked before any chain lookup). */
  upgradesPerMinute: number;
  /** Federation `POST /` requests per remote address per minute. */
  federationPerMinute: number;
  /** Envelopes waiting to be federated to other relays, and their bytes. */
  federationPending: number;
  federationPendingBytes: number;
  /** Longest time the relay keeps retrying a federation, whatever expiration the envelope claims. */
  federationMaxTtlS: number;
  /** Longest JWT lifetime (exp - iat) accepted. */
  jwtMaxLifetimeS: number;
}

export const DEFAULT_LIMITS: RelayLimits = {
  queueBytes: 16 << 20,
  totalQueueBytes: 512 << 20,
  slowReaderMs: 60_000,
  sessionsPerTwin: 256,
  maxSessions: 100_000,
  upgradesPerMinute: 1_200,
  federationPerMinute: 6_000,
  federationPending: 10_000,
  federationPendingBytes: 128 << 20,
  federationMaxTtlS: 3_600,
  jwtMaxLifetimeS: 3_600,
};

/** Thrown by a queue store when an append would exceed a byte bound; nothing is stored. */
export class QueueFullError extends Error {
  constructor(readonly scope: 'queue' | 'total') {
    super(scope === 'queue' ? 'destination queue is full' : 'relay queues are full');
    this.name = 'QueueFullError';
  }
}

/**
 * Token buckets per key (a remote address): `perMinute` tokens refill evenly, up to a burst of
 * `perMinute / 6` (10 s worth, at least 1). The map is pruned of full buckets so that many
 * addresses cannot grow it without bound.
 */
export class KeyedRate {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly burst: number;
  private readonly perMs: number;

  constructor(
    perMinute: number,
    private readonly clock: Clock,
    private readonly maxKeys = 100_000,
  ) {
    this.burst = Math.max(1, Math.floor(perMinute / 6));
    this.perMs = perMinute / 60_000;
  }

  /** Takes one token for `key`; false when none is left. */
  take(key: string): boolean {
    const now = this.clock.now();
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxKeys) this.prune(now);
      b = { tokens: this.burst, at: now };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + (now - b.at) * this.perMs);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  private prune(now: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + (now - b.at) * this.perMs >= this.burst) this.buckets.delete(k);
    }
    // Still full of busy addresses: forget the oldest rather than grow.
    while (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
  }
}

/** Byte accounting of queues keyed by session key, shared by the in-process stores. */
export class QueueBytes {
  private readonly perKey = new Map<string, number>();
  private sum = 0;

  constructor(private readonly limits: Pick<RelayLimits, 'queueBytes' | 'totalQueueBytes'>) {}

  get total(): number {
    return this.sum;
  }

  of(key: string): number {
    return this.perKey.get(key) ?? 0;
  }

  /** Throws QueueFullError when `size` more bytes would pass a bound. */
  check(key: string, size: number): void {
    if (this.of(key) + size > this.limits.queueBytes) throw new QueueFullError('queue');
    if (this.sum + size > this.limits.totalQueueBytes) throw new QueueFullError('total');
  }

  add(key: string, size: number): void {
    this.perKey.set(key, this.of(key) + size);
    this.sum += size;
  }

  sub(key: string, size: number): void {
    const left = this.of(key) - size;
    if (left <= 0) this.perKey.delete(key);
    else this.perKey.set(key, left);
    this.sum -= Math.min(size, this.sum);
  }
}
