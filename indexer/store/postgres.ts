import pg from 'pg';
import type { Param, Row, Sql, SqlTx } from './sql.ts';

/** int8 (COUNT, BIGINT columns) and numeric (SUM) arrive as numbers, as SQLite gives them. */
const INT8 = 20;
const NUMERIC = 1700;
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8 || oid === NUMERIC) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
};

/** `?` placeholders (the seam's dialect) -> `$1..$n`, leaving quoted literals alone. */
export function numberPlaceholders(sql: string): string {
  let n = 0;
  let out = '';
  let quote: string | null = null;
  for (const ch of sql) {
    if (quote) {
      if (ch === quote) quote = null;
      out += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      out += ch;
    } else out += ch === '?' ? `$${++n}` : ch;
  }
  return out;
}

/** The SQL functions the shared queries use that PostgreSQL lacks under SQLite's name. */
const COMPAT = [`CREATE OR REPLACE FUNCTION instr(text, text) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT strpos($1, $2)'`];

/**
 * PostgreSQL behind the Sql seam, for a store shared by several indexer processes: reads go to
 * the pool, each transaction runs on one pooled connection (BEGIN/COMMIT), and one process at a
 * time follows the chain (`tryWriterLock`, a session advisory lock; the follower also checks the
 * cursor inside each block's transaction, so a block is never applied twice).
 */
export class PostgresSql implements Sql {
  readonly kind = 'postgres' as const;
  private readonly pool: pg.Pool;
  private lock: WriterLock | null = null;
  /** Transactions of this process run one after the other, as with SQLite (follower and RMB poller). */
  private last: Promise<unknown> = Promise.resolve();

  constructor(url: string) {
    // TCP keepalive: a server that vanished without closing the connection is noticed too.
    this.pool = new pg.Pool({ connectionString: url, types, max: 4, keepAlive: true });
    // An idle pooled connection the server dropped must not crash the process; the next query reconnects.
    this.pool.on('error', () => undefined);
  }

  migrate(ddl: readonly string[], check: (tx: SqlTx) => Promise<void>): Promise<void> {
    return this.transaction(async (tx) => {
      // Two processes creating the same tables at once would collide in PostgreSQL's catalog.
      await tx.run('SELECT pg_advisory_xact_lock(?)', [LOCK_SCHEMA]);
      for (const d of [...COMPAT, ...ddl]) await tx.run(d);
      await check(tx);
    });
  }

  async all<T extends Row = Row>(sql: string, params: readonly Param[] = []): Promise<T[]> {
    return (await this.pool.query<T>(numberPlaceholders(sql), params as Param[])).rows;
  }

  async run(sql: string, params: readonly Param[] = []): Promise<void> {
    await this.pool.query(numberPlaceholders(sql), params as Param[]);
  }

  transaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    const run = this.last.then(() => this.runTransaction(fn));
    this.last = run.catch(() => undefined);
    return run;
  }

  private async runTransaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const tx: SqlTx = {
      all: async <R extends Row = Row>(sql: string, params: readonly Param[] = []) => (await client.query<R>(numberPlaceholders(sql), params as Param[])).rows,
      run: async (sql, params = []) => {
        await client.query(numberPlaceholders(sql), params as Param[]);
      },
    };
    let broken = false;
    try {
      await client.query('BEGIN');
      const out = await fn(tx);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => (broken = true));
      throw err;
    } finally {
      client.release(broken);
    }
  }

  /**
   * Takes the store's writer lock when free. It is a session lock: it lasts as long as the
   * connection that took it, and the server frees it for the next process the moment that
   * connection goes. So this process gives it up as soon as it sees that connection fail: an
   * error or end on it, or a check on it that fails or stays unanswered for LOCK_CHECK_MS.
   */
  async tryWriterLock(): Promise<AbortSignal | null> {
    if (this.lock) return this.lock.lost.signal;
    const client = await this.pool.connect();
    let ok = false;
    try {
      ok = (await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [LOCK_WRITER])).rows[0]?.ok === true;
    } catch (err) {
      client.release(true);
      throw err;
    }
    if (!ok) {
      client.release();
      return null;
    }
    const lock: WriterLock = { client, lost: new AbortController(), check: undefined };
    let checking = false;
    const drop = (why: string, err?: unknown) => {
      if (this.lock !== lock) return;
      this.lockLost(why, err);
    };
    client.on('error', (err) => drop('the connection holding the writer lock failed', err));
    client.on('end', () => drop('the connection holding the writer lock ended'));
    lock.check = setInterval(() => {
      if (checking) return drop(`the connection holding the writer lock did not answer for ${LOCK_CHECK_MS} ms`);
      checking = true;
      client.query('SELECT 1').then(() => (checking = false), (err: unknown) => drop('the connection holding the writer lock failed a check', err));
    }, LOCK_CHECK_MS);
    lock.check.unref();
    this.lock = lock;
    return lock.lost.signal;
  }

  /** Forgets the writer lock (its connection is closed, so the server frees it if it has not) and tells the holder. */
  private lockLost(why: string, err?: unknown): void {
    const lock = this.lock;
    if (!lock) return;
    this.lock = null;
    clearInterval(lock.check);
    lock.client.release(true);
    lock.lost.abort(new Error(why, { cause: err }));
  }

  async close(): Promise<void> {
    this.lockLost('the store is closed');
    await this.pool.end();
  }
}

interface WriterLock {
  client: pg.PoolClient;
  lost: AbortController;
  check: ReturnType<typeof setInterval> | undefined;
}

/** How often the connection holding the writer lock is checked, and how long a check may stay unanswered. */
const LOCK_CHECK_MS = 5_000;
/** Advisory lock keys (arbitrary, fixed): schema setup and the one chain follower. */
const LOCK_SCHEMA = 0x7a6f_7301;
export const LOCK_WRITER = 0x7a6f_7302;
