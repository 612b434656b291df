import type { Clock } from '../lib/clock.ts';

/**
 * `--limit COUNT SIZE` (reference §6): per twin, a fixed 60 s window on message count and
 * total bytes; a single message larger than SIZE is refused outright.
 */
export interface RateLimit {
  count: number;
  size: number;
}

const WINDOW_MS = 60_000;

export class TwinRateLimiter {
  private readonly windows = new Map<number, { start: number; count: number; bytes: number }>();

  constructor(
    private readonly limit: RateLimit,
    private readonly clock: Clock,
  ) {}

  /** Accounts one message; false when it must be dropped. */
  allow(twin: number, size: number): boolean {
    if (size > this.limit.size) return false;
    const now = this.clock.now();
    let w = this.windows.get(twin);
    if (!w || now - w.start >= WINDOW_MS) {
      if (this.windows.size > 100_000) this.prune(now);
      w = { start: now, count: 0, bytes: 0 };
      this.windows.set(twin, w);
    }
    if (w.count + 1 > this.limit.count || w.bytes + size > this.limit.size) return false;
    w.count++;
    w.bytes += size;
    return true;
  }

  private prune(now: number): void {
    for (const [twin, w] of this.windows) if (now - w.start >= WINDOW_MS) this.windows.delete(twin);
  }
}
