import type { Clock } from '../lib/clock.ts';

/**
 * Per-session queues for messages whose destination session is not (yet) reading: keyed
 * "twin" or "twin:sid", at most QUEUE_CAP entries each, kept QUEUE_TTL_MS (reference §6).
 */
export interface StoredMessage {
  id: string;
  bytes: Uint8Array;
}

export interface QueueStore {
  /** True when other relay processes append to the same queues (Redis). */
  readonly shared: boolean;
  append(key: string, bytes: Uint8Array): Promise<void>;
  /** Oldest-first unexpired messages with id > `after` (null = from the start). */
  read(key: string, after: string | null, count: number): Promise<StoredMessage[]>;
  remove(key: string, ids: string[]): Promise<void>;
  /** Shared stores: block up to `blockMs` for messages on any of the keys after their cursors. */
  watch?(cursors: Map<string, string>, blockMs: number): Promise<Map<string, StoredMessage[]>>;
  close(): Promise<void>;
}

export const QUEUE_CAP = 10_000;
export const QUEUE_TTL_MS = 3_600_000;

/** In-process queues; lost on restart. Ids are a process-wide sequence. */
export class MemoryStore implements QueueStore {
  readonly shared = false;
  private readonly queues = new Map<string, { seq: number; expiresAt: number; bytes: Uint8Array }[]>();
  private seq = 0;

  constructor(private readonly clock: Clock) {}

  async append(key: string, bytes: Uint8Array): Promise<void> {
    let q = this.queues.get(key);
    if (!q) this.queues.set(key, (q = []));
    q.push({ seq: ++this.seq, expiresAt: this.clock.now() + QUEUE_TTL_MS, bytes });
    if (q.length > QUEUE_CAP) q.splice(0, q.length - QUEUE_CAP);
  }

  async read(key: string, after: string | null, count: number): Promise<StoredMessage[]> {
    const q = this.queues.get(key);
    if (!q) return [];
    const now = this.clock.now();
    const from = after === null ? 0 : Number(after);
    const live = q.filter((m) => m.expiresAt > now);
    if (live.length !== q.length) this.queues.set(key, live);
    return live
      .filter((m) => m.seq > from)
      .slice(0, count)
      .map((m) => ({ id: String(m.seq), bytes: m.bytes }));
  }

  async remove(key: string, ids: string[]): Promise<void> {
    const q = this.queues.get(key);
    if (!q) return;
    const drop = new Set(ids.map(Number));
    const rest = q.filter((m) => !drop.has(m.seq));
    if (rest.length === 0) this.queues.delete(key);
    else this.queues.set(key, rest);
  }

  async close(): Promise<void> {}
}
