import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/**
 * Remembers (source, uid) of accepted envelopes until they expire, so a replayed envelope is
 * refused. An entry is never forgotten before its expiry: when the cache is full of live
 * entries, new work is refused ('full') instead, because forgetting early would let a captured
 * envelope run twice. Callers cap how far in the future an expiry may be (MAX_FUTURE_EXPIRY_S),
 * so a full cache drains on its own.
 */
export type ReplayVerdict = 'new' | 'replay' | 'full';

/** Where entries live: in memory, or in SQLite so a restarted node keeps them. */
export interface ReplayBackend {
  get(key: string): number | undefined;
  /** `fresh`: the key was not present before (an expired entry is being overwritten otherwise). */
  put(key: string, expiresAtMs: number, fresh: boolean): void;
  prune(nowMs: number): void;
  size(): number;
  close(): void;
}

/** The furthest an envelope's timestamp + expiration may lie ahead of now (1 h). */
export const MAX_FUTURE_EXPIRY_S = 3_600;
export const DEFAULT_REPLAY_CAPACITY = 1_000_000;

/** Below this many entries expired ones are left alone. */
const PRUNE_FLOOR = 1_024;

export class ReplayCache {
  /**
   * Expired entries are pruned once the cache has doubled since the last prune (amortised O(1)
   * per add), not only when it is full: a busy peer otherwise kept every id it had seen until
   * `max` (a million: about 100 MB of map in memory, as many rows in a node's replay.sqlite).
   */
  private pruneAt = PRUNE_FLOOR;

  constructor(
    private readonly backend: ReplayBackend = new MemoryReplayBackend(),
    private readonly max = DEFAULT_REPLAY_CAPACITY,
  ) {}

  /** Records `key` until `expiresAtMs`; 'replay' when it is already recorded and unexpired. */
  add(key: string, expiresAtMs: number, nowMs: number): ReplayVerdict {
    const prev = this.backend.get(key);
    if (prev !== undefined && prev > nowMs) return 'replay';
    if (prev === undefined && this.backend.size() >= Math.min(this.pruneAt, this.max)) {
      this.backend.prune(nowMs);
      this.pruneAt = Math.max(PRUNE_FLOOR, 2 * this.backend.size());
      if (this.backend.size() >= this.max) return 'full';
    }
    this.backend.put(key, expiresAtMs, prev === undefined);
    return 'new';
  }

  get size(): number {
    return this.backend.size();
  }

  close(): void {
    this.backend.close();
  }
}

export class MemoryReplayBackend implements ReplayBackend {
  private readonly seen = new Map<string, number>();
  get = (key: string) => this.seen.get(key);
  put = (key: string, exp: number) => void this.seen.set(key, exp);
  size = () => this.seen.size;
  close(): void {}
  prune(nowMs: number): void {
    for (const [k, exp] of this.seen) if (exp <= nowMs) this.seen.delete(k);
  }
}

/**
 * Entries in SQLite (WAL; NORMAL sync survives a process crash such as kill -9). Writes are
 * gathered and committed together once the event loop turns: one transaction per burst of
 * requests instead of one per request. Until then they are answered from memory.
 */
export class SqliteReplayBackend implements ReplayBackend {
  private readonly db: Database.Database;
  private readonly stmts;
  private readonly unwritten = new Map<string, number>();
  private readonly flushAll: () => void;
  private flushing: NodeJS.Immediate | null = null;
  private count: number;

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec('CREATE TABLE IF NOT EXISTS replay (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID');
    this.db.exec('CREATE INDEX IF NOT EXISTS replay_expiry ON replay (expires_at)');
    this.stmts = {
      get: this.db.prepare('SELECT expires_at AS e FROM replay WHERE key = ?'),
      put: this.db.prepare('INSERT OR REPLACE INTO replay (key, expires_at) VALUES (?, ?)'),
      prune: this.db.prepare('DELETE FROM replay WHERE expires_at <= ?'),
      count: this.db.prepare('SELECT COUNT(*) AS n FROM replay'),
    };
    this.flushAll = this.db.transaction(() => {
      for (const [key, exp] of this.unwritten) this.stmts.put.run(key, exp);
    });
    this.count = this.counted();
  }

  get(key: string): number | undefined {
    return this.unwritten.get(key) ?? (this.stmts.get.get(key) as { e: number } | undefined)?.e;
  }

  put(key: string, expiresAtMs: number, fresh: boolean): void {
    this.unwritten.set(key, expiresAtMs);
    if (fresh) this.count++;
    this.flushing ??= setImmediate(() => this.flush());
  }

  prune(nowMs: number): void {
    this.flush();
    this.stmts.prune.run(nowMs);
    this.count = this.counted();
  }

  size(): number {
    return this.count;
  }

  close(): void {
    if (!this.db.open) return;
    this.flush();
    this.db.close();
  }

  private flush(): void {
    if (this.flushing) clearImmediate(this.flushing);
    this.flushing = null;
    if (this.unwritten.size === 0) return;
    this.flushAll();
    this.unwritten.clear();
  }

  private counted(): number {
    return (this.stmts.count.get() as { n: number }).n;
  }
}
