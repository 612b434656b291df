import { type Clock, systemClock } from './clock.ts';

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  clock?: Clock;
  random?: () => number;
}

/** Capped exponential backoff with x0.5-1.5 jitter; call reset() after a success. */
export class Backoff {
  private attempt = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly clock: Clock;
  private readonly random: () => number;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 500;
    this.maxMs = opts.maxMs ?? 30_000;
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? Math.random;
  }

  /** The delay the next wait() will use, advancing the attempt counter. */
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.round(base * (0.5 + this.random()));
  }

  wait(signal?: AbortSignal): Promise<void> {
    return this.clock.sleep(this.next(), signal);
  }

  reset(): void {
    this.attempt = 0;
  }
}
