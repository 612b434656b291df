import type { Clock } from '../lib/clock.ts';
import { DEFAULT_LIMITS, QueueBytes, type RelayLimits } from './limits.ts';

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
  /** Throws QueueFullError (storing nothing) when the queue or all queues are at their byte bound. */
  append(key: string, bytes: Uint8Array): Promise<void>;
  /** Oldest-first unexpired messages with id > `after` (null = from the start). */
  read(key: string, after: string | null, count: number): Promise<StoredMessage[]>;
  remove(key: string, ids: string[]): Promise<void>;
  /** Deletes expired messages of every queue, read or not; resolves to how many. */
  sweep(): Promise<number>;
  /** Bytes of stored messages (for metrics); null when the store cannot tell cheaply. */
  storedBytes(): number | null;
  /** Shared stores: block up to `blockMs` for messages on any of the keys after their cursors. */
  watch?(cursors: Map<string, string>, blockMs: number): Promise<Map<string, StoredMessage[]>>;
  close(): Promise<void>;
}

export const QUEUE_CAP = 10_000;
export const QUEUE_TTL_MS = 3_600_000;

type MemoryEntry = { seq: number; expiresAt: number; bytes: Uint8Array };

/** In-process queues; lost on restart. Ids are a process-wide sequence. */
export class MemoryStore implements QueueStore {
  readonly shared = false;
  private readonly queues = new Map<string, MemoryEntry[]>();
  private readonly used: QueueBytes;
  private seq = 0;

  constructor(
    private readonly clock: Clock,
    limits: Pick<RelayLimits, 'queueBytes' | 'totalQueueBytes'> = DEFAULT_LIMITS,
  ) {
    this.used = new QueueBytes(limits);
  }

  async append(key: string, bytes: Uint8Array): Promise<void> {
    this.used.check(key, bytes.length);
    let q = this.queues.get(key);
    if (!q) this.queues.set(key, (q = []));
    q.push({ seq: ++this.seq, expiresAt: this.clock.now() + QUEUE_TTL_MS, bytes });
    this.used.add(key, bytes.length);
    if (q.length > QUEUE_CAP) this.forget(key, q.splice(0, q.length - QUEUE_CAP));
  }

  async read(key: string, after: string | null, count: number): Promise<StoredMessage[]> {
    const q = this.queues.get(key);
    if (!q) return [];
    const now = this.clock.now();
    const from = after === null ? 0 : Number(after);
    const live = this.keepLive(key, q, now);
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
    this.forget(key, q.filter((m) => drop.has(m.seq)));
    if (rest.length === 0) this.queues.delete(key);
    else this.queues.set(key, rest);
  }

  async sweep(): Promise<number> {
    const now = this.clock.now();
    let n = 0;
    for (const [key, q] of this.queues) n += q.length - this.keepLive(key, q, now).length;
    return n;
  }

  storedBytes(): number {
    return this.used.total;
  }

  async close(): Promise<void> {}

  /** The unexpired part of a queue; expired entries are dropped and unaccounted. */
  private keepLive(key: string, q: MemoryEntry[], now: number): MemoryEntry[] {
    const live = q.filter((m) => m.expiresAt > now);
    if (live.length === q.length) return q;
    this.forget(key, q.filter((m) => m.expiresAt <= now));
    if (live.length === 0) this.queues.delete(key);
    else this.queues.set(key, live);
    return live;
  }

  private forget(key: string, gone: MemoryEntry[]): void {
    for (const m of gone) this.used.sub(key, m.bytes.length);
  }
}
