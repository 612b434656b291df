import type { Logger } from './log.ts';
import { type Clock, systemClock } from './clock.ts';

/**
 * Rate limit for log lines remote input can trigger: at most `burst` lines per key per window;
 * the first line after a suppressed stretch reports how many were dropped.
 */
export class RateLimitedLog {
  private readonly windows = new Map<string, { start: number; count: number; suppressed: number }>();

  constructor(
    private readonly log: Logger,
    private readonly opts: { burst?: number; windowMs?: number; clock?: Clock } = {},
  ) {}

  warn(key: string, obj: Record<string, unknown>, msg: string): void {
    const burst = this.opts.burst ?? 5;
    const windowMs = this.opts.windowMs ?? 60_000;
    const now = (this.opts.clock ?? systemClock).now();
    let w = this.windows.get(key);
    if (!w || now - w.start >= windowMs) {
      const suppressed = w?.suppressed ?? 0;
      w = { start: now, count: 0, suppressed: 0 };
      if (suppressed > 0) obj = { ...obj, suppressed };
      // Keys are call sites, so this stays small; the bound only guards against misuse.
      if (this.windows.size > 1000) this.windows.clear();
      this.windows.set(key, w);
    }
    if (w.count >= burst) {
      w.suppressed++;
      return;
    }
    w.count++;
    this.log.warn(obj, msg);
  }
}
