import { type Clock, systemClock } from '../lib/clock.ts';

/** What the relay and peers need to know about a twin (tfchain `TfgridModule.Twins`). */
export interface Twin {
  id: number;
  /** 32-byte public key of the twin's account. */
  accountId: Uint8Array;
  /** Relay hostnames joined by "_" (reference §6), or null when unset. */
  relay: string | null;
  /** 33-byte compressed secp256k1 key, or null when unset. */
  pk: Uint8Array | null;
}

export interface TwinDirectory {
  getTwin(id: number): Promise<Twin | null>;
  /**
   * The answer getTwin would give, when it is known now without waiting (a cache hit); undefined
   * when a lookup is needed. Lets the message path skip a promise per lookup.
   */
  peek?(id: number): Twin | null | undefined;
}

/** The twin from `peek` when the directory knows it now, else the lookup's promise. */
export function lookupTwin(dir: TwinDirectory, id: number): Twin | null | Promise<Twin | null> {
  const known = dir.peek?.(id);
  return known === undefined ? dir.getTwin(id) : known;
}

/** The relay hostnames of a twin, from its `_`-joined relay field. */
export function twinRelays(twin: Twin): string[] {
  return twin.relay ? twin.relay.split('_').filter((s) => s.length > 0) : [];
}

/** A fixed lookup table; used where there is no chain (tests, embedded tools). */
export class MemoryTwinDirectory implements TwinDirectory {
  private readonly twins = new Map<number, Twin>();

  constructor(twins: Iterable<Twin> = []) {
    for (const t of twins) this.set(t);
  }

  set(twin: Twin): void {
    this.twins.set(twin.id, twin);
  }

  delete(id: number): void {
    this.twins.delete(id);
  }

  async getTwin(id: number): Promise<Twin | null> {
    return this.twins.get(id) ?? null;
  }

  peek(id: number): Twin | null {
    return this.twins.get(id) ?? null;
  }
}

export interface CachedTwinDirectoryOptions {
  ttlMs?: number;
  /** How long "no such twin" is remembered; short so a fresh registration shows up quickly. */
  negativeTtlMs?: number;
  /** How long a failed lookup (chain error) is remembered, so a burst of lookups costs one query. */
  failureTtlMs?: number;
  maxEntries?: number;
  clock?: Clock;
}

/**
 * Expiring cache in front of a directory. Concurrent lookups of one id share a single
 * backend call; "no such twin" and failures are remembered briefly too.
 */
export class CachedTwinDirectory implements TwinDirectory {
  private readonly entries = new Map<number, { twin: Twin | null; failure?: Error; expiresAt: number }>();
  private readonly inflight = new Map<number, Promise<Twin | null>>();
  private readonly ttlMs: number;
  private readonly negativeTtlMs: number;
  private readonly failureTtlMs: number;
  private readonly maxEntries: number;
  private readonly clock: Clock;

  constructor(private readonly backend: TwinDirectory, opts: CachedTwinDirectoryOptions = {}) {
    this.ttlMs = opts.ttlMs ?? 5 * 60_000;
    this.negativeTtlMs = opts.negativeTtlMs ?? 10_000;
    this.failureTtlMs = opts.failureTtlMs ?? 2_000;
    this.maxEntries = opts.maxEntries ?? 100_000;
    this.clock = opts.clock ?? systemClock;
  }

  peek(id: number): Twin | null | undefined {
    const hit = this.entries.get(id);
    return hit && !hit.failure && hit.expiresAt > this.clock.now() ? hit.twin : undefined;
  }

  async getTwin(id: number): Promise<Twin | null> {
    const hit = this.entries.get(id);
    if (hit && hit.expiresAt > this.clock.now()) {
      if (hit.failure) throw hit.failure;
      return hit.twin;
    }
    const pending = this.inflight.get(id);
    if (pending) return pending;
    const p = this.backend.getTwin(id).then(
      (twin) => {
        this.inflight.delete(id);
        this.store(id, twin);
        return twin;
      },
      (err: unknown) => {
        this.inflight.delete(id);
        if (this.failureTtlMs > 0) this.store(id, null, err as Error);
        throw err;
      },
    );
    this.inflight.set(id, p);
    return p;
  }

  invalidate(id: number): void {
    this.entries.delete(id);
  }

  private store(id: number, twin: Twin | null, failure?: Error): void {
    if (this.entries.size >= this.maxEntries) {
      // Map iteration order is insertion order: drop the oldest entry.
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.delete(id);
    const ttl = failure ? this.failureTtlMs : twin ? this.ttlMs : this.negativeTtlMs;
    this.entries.set(id, { twin, failure, expiresAt: this.clock.now() + ttl });
  }
}
