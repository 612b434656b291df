import type { Logger } from '../../../lib/log.ts';
import { backendName, parseBackendBytes } from './config.ts';
import { readState, writeState } from './state.ts';

interface Counter {
  /** Bytes counted and not yet taken. */
  pending: number;
  /** The last value read from the running haproxy generation (counters restart at 0 on reload). */
  seen: number;
}

/**
 * Traffic per gateway route (haproxy's backend bytes in + out) for NRU reports, kept on disk:
 * haproxy's own counters restart with every worker (a reload, a restart), so what each backend
 * carried is folded in before that happens, and kept until a report confirms it.
 */
export class TrafficCounters {
  private counters = new Map<string, Counter>();

  constructor(private readonly file: string) {}

  async load(log: Logger): Promise<void> {
    const stored = await readState<Record<string, Counter>>(this.file, log);
    for (const [id, c] of Object.entries(stored)) {
      if (c && Number.isFinite(c.pending) && Number.isFinite(c.seen)) this.counters.set(id, c);
    }
  }

  /** Adds what each route's backend carried since the last reading (haproxy's `show stat` csv) and saves. */
  async fold(csv: string, routes: Iterable<string>): Promise<void> {
    if (!csv) return;
    const bytes = parseBackendBytes(csv);
    for (const id of routes) {
      const live = bytes.get(backendName(id));
      if (live === undefined) continue;
      const c = this.counters.get(id) ?? { pending: 0, seen: 0 };
      // A counter below the last reading means haproxy restarted: everything it shows is new.
      c.pending += live >= c.seen ? live - c.seen : live;
      c.seen = live;
      this.counters.set(id, c);
    }
    await this.save();
  }

  /** A new haproxy generation serves: its counters start from zero. */
  restarted(): void {
    for (const c of this.counters.values()) c.seen = 0;
  }

  unreported(): Array<{ id: string; bytes: number }> {
    return [...this.counters].filter(([, c]) => c.pending > 0).map(([id, c]) => ({ id, bytes: c.pending }));
  }

  /** Takes reported bytes off (whatever came in meanwhile stays); routes no longer `live` are forgotten once reported. */
  async reported(reported: Array<{ id: string; bytes: number }>, live: (id: string) => boolean): Promise<void> {
    for (const { id, bytes } of reported) {
      const c = this.counters.get(id);
      if (!c) continue;
      c.pending = Math.max(0, c.pending - bytes);
      if (c.pending === 0 && !live(id)) this.counters.delete(id);
    }
    await this.save();
  }

  clear(): void {
    this.counters.clear();
  }

  save(): Promise<void> {
    return writeState(this.file, Object.fromEntries(this.counters));
  }
}
