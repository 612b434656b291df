import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Param, Row, Sql, SqlTx } from './sql.ts';

/**
 * SQLite behind the Sql seam: one writer connection for the follower's transactions and one
 * read-only connection for the HTTP APIs, so a request never sees a half-applied block (WAL
 * lets the reader run while the writer commits). Statements are prepared once and cached.
 */
export class SqliteSql implements Sql {
  readonly kind = 'sqlite' as const;
  private readonly writer: Database.Database;
  private readonly reader: Database.Database;
  private readonly cache = new WeakMap<Database.Database, Map<string, Database.Statement>>();
  private readonly tempDir: string | null;
  /** Transactions run one after the other: the follower's and the RMB poller's interleave otherwise. */
  private last: Promise<unknown> = Promise.resolve();
  /** The writer lock of a store one process owns: never lost. */
  private readonly owned = new AbortController();

  /** `dir` null keeps the store in a temp directory removed on close (tests, benchmarks). */
  constructor(dir: string | null) {
    this.tempDir = dir ? null : mkdtempSync(join(tmpdir(), 'zos-indexer-'));
    const where = dir ?? this.tempDir!;
    mkdirSync(where, { recursive: true });
    const file = join(where, 'indexer.sqlite');
    this.writer = new Database(file);
    this.writer.pragma('journal_mode = WAL');
    this.writer.pragma('synchronous = NORMAL');
    this.reader = new Database(file, { readonly: true });
  }

  private stmt(db: Database.Database, sql: string): Database.Statement {
    let m = this.cache.get(db);
    if (!m) this.cache.set(db, (m = new Map()));
    let s = m.get(sql);
    if (!s) m.set(sql, (s = db.prepare(sql)));
    return s;
  }

  private exec(db: Database.Database, sql: string, params: readonly Param[]): Row[] {
    const s = this.stmt(db, sql);
    if (s.reader) return s.all(...params) as Row[];
    s.run(...params);
    return [];
  }

  all<T extends Row = Row>(sql: string, params: readonly Param[] = []): Promise<T[]> {
    try {
      return Promise.resolve(this.exec(this.reader, sql, params) as T[]);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  run(sql: string, params: readonly Param[] = []): Promise<void> {
    try {
      this.exec(this.writer, sql, params);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  transaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    const run = this.last.then(() => this.runTransaction(fn));
    this.last = run.catch(() => undefined);
    return run;
  }

  /** One process owns an embedded store: its writer lock is never lost. */
  writerTransaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    return this.transaction(fn);
  }

  private async runTransaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    if (this.writer.inTransaction) throw new Error('nested indexer transaction');
    const tx: SqlTx = {
      all: <R extends Row = Row>(sql: string, params: readonly Param[] = []) => Promise.resolve(this.exec(this.writer, sql, params) as R[]),
      run: (sql, params = []) => {
        this.exec(this.writer, sql, params);
        return Promise.resolve();
      },
    };
    this.writer.exec('BEGIN IMMEDIATE');
    try {
      const out = await fn(tx);
      this.writer.exec('COMMIT');
      return out;
    } catch (err) {
      if (this.writer.inTransaction) this.writer.exec('ROLLBACK');
      throw err;
    }
  }

  migrate(ddl: readonly string[], check: (tx: SqlTx) => Promise<void>): Promise<void> {
    return this.transaction(async (tx) => {
      for (const d of ddl) await tx.run(d);
      await check(tx);
    });
  }

  tryWriterLock(): Promise<AbortSignal> {
    return Promise.resolve(this.owned.signal);
  }

  close(): Promise<void> {
    if (this.reader.open) this.reader.close();
    if (this.writer.open) this.writer.close();
    if (this.tempDir) rmSync(this.tempDir, { recursive: true, force: true });
    return Promise.resolve();
  }
}
