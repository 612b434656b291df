/**
 * Remembers (source, uid) of accepted envelopes until they expire, so a replayed envelope is
 * refused. Bounded: beyond `max` entries the oldest are forgotten (they are the closest to expiry
 * only roughly, so `max` should cover the traffic of one expiration window).
 */
export class ReplayCache {
  private readonly seen = new Map<string, number>();

  constructor(private readonly max = 100_000) {}

  /** Records the key; false when it was already present and not yet expired. */
  add(key: string, expiresAtMs: number, nowMs: number): boolean {
    const prev = this.seen.get(key);
    if (prev !== undefined && prev > nowMs) return false;
    this.seen.delete(key);
    this.seen.set(key, expiresAtMs);
    this.prune(nowMs);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }

  private prune(nowMs: number): void {
    for (const [k, exp] of this.seen) {
      if (this.seen.size <= this.max && exp > nowMs) break;
      this.seen.delete(k);
    }
  }
}
