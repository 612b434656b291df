import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Clock } from '../lib/clock.ts';
import { RelayError } from './errors.ts';
import { DEFAULT_LIMITS, QueueBytes, type RelayLimits } from './limits.ts';
import { QUEUE_CAP, QUEUE_TTL_MS, type QueueStore, type StoredMessage } from './store.ts';

/**
 * Durable queues in `<dataDir>/relay-queue.sqlite` so a relay restart loses nothing queued.
 * Byte accounting is kept in memory (summed from the table at open) so bounds cost no query.
 */
export class SqliteStore implements QueueStore {
  readonly shared = false;
  private readonly db: Database.Database;
  private readonly stmts;
  private readonly used: QueueBytes;

  constructor(
    dataDir: string,
    private readonly clock: Clock,
    limits: Pick<RelayLimits, 'queueBytes' | 'totalQueueBytes'> = DEFAULT_LIMITS,
  ) {
    this.used = new QueueBytes(limits);
    try {
      mkdirSync(dataDir, { recursive: true });
      this.db = new Database(join(dataDir, 'relay-queue.sqlite'));
    } catch (err) {
      throw new RelayError('ERR_STORE', `cannot open queue database in ${dataDir}: ${(err as Error).message}`, { cause: err });
    }
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS queue (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      key TEXT NOT NULL,
      expires_at INTEGER NOT NULL,
      bytes BLOB NOT NULL
    );
    CREATE INDEX IF NOT EXISTS queue_key ON queue (key, id);`);
    this.stmts = {
      insert: this.db.prepare('INSERT INTO queue (key, expires_at, bytes) VALUES (?, ?, ?)'),
      count: this.db.prepare('SELECT COUNT(*) AS n FROM queue WHERE key = ?'),
      trim: this.db.prepare(
        'DELETE FROM queue WHERE id IN (SELECT id FROM queue WHERE key = ? ORDER BY id LIMIT ?) RETURNING key, length(bytes) AS size',
      ),
      read: this.db.prepare('SELECT id, bytes FROM queue WHERE key = ? AND id > ? AND expires_at > ? ORDER BY id LIMIT ?'),
      remove: this.db.prepare('DELETE FROM queue WHERE key = ? AND id = ? RETURNING key, length(bytes) AS size'),
      purge: this.db.prepare('DELETE FROM queue WHERE expires_at <= ? RETURNING key, length(bytes) AS size'),
    };
    const sums = this.db.prepare('SELECT key, SUM(length(bytes)) AS size FROM queue GROUP BY key').all() as Gone[];
    for (const r of sums) this.used.add(r.key, r.size);
  }

  async append(key: string, bytes: Uint8Array): Promise<void> {
    this.used.check(key, bytes.length);
    this.stmts.insert.run(key, this.clock.now() + QUEUE_TTL_MS, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    this.used.add(key, bytes.length);
    const { n } = this.stmts.count.get(key) as { n: number };
    if (n > QUEUE_CAP) this.forget(this.stmts.trim.all(key, n - QUEUE_CAP) as Gone[]);
  }

  async read(key: string, after: string | null, count: number): Promise<StoredMessage[]> {
    const rows = this.stmts.read.all(key, after === null ? 0 : Number(after), this.clock.now(), count) as {
      id: number;
      bytes: Buffer;
    }[];
    return rows.map((r) => ({ id: String(r.id), bytes: new Uint8Array(r.bytes) }));
  }

  async remove(key: string, ids: string[]): Promise<void> {
    const tx = this.db.transaction((list: string[]) => list.flatMap((id) => this.stmts.remove.all(key, Number(id)) as Gone[]));
    this.forget(tx(ids));
  }

  async sweep(): Promise<number> {
    const gone = this.stmts.purge.all(this.clock.now()) as Gone[];
    this.forget(gone);
    return gone.length;
  }

  storedBytes(): number {
    return this.used.total;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  private forget(gone: Gone[]): void {
    for (const g of gone) this.used.sub(g.key, g.size);
  }
}

type Gone = { key: string; size: number };
