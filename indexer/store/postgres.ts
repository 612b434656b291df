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
    return this.queued(() => this.runTransaction(fn, false));
  }

  writerTransaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    return this.queued(() => this.runTransaction(fn, true));
  }

  private queued<T>(job: () => Promise<T>): Promise<T> {
    const run = this.last.then(job);
    this.last = run.catch(() => undefined);
    return run;
  }

  private async runTransaction<T>(fn: (tx: SqlTx) => Promise<T>, asWriter: boolean): Promise<T> {
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
      if (asWriter) await this.stillWriter(tx);
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
   * Inside a writer transaction, just before its COMMIT: whether the session that took the lock
   * (same backend pid and start time: a pid may be reused) holds it still. The shared fence,
   * held to COMMIT, makes a new holder wait for this transaction (see tryWriterLock), so nothing
   * of the old holder commits after the new one began. A lost lock is dropped here at once.
   */
  private async stillWriter(tx: SqlTx): Promise<void> {
    const lock = this.lock;
    let held = false;
    if (lock) {
      await tx.run('SELECT pg_advisory_xact_lock_shared(?)', [LOCK_FENCE]);
      const [row] = await tx.all<{ held: boolean }>(
        // pg_stat_get_activity(pid) rather than the pg_stat_activity view: 0.47 against 1.65 ms here.
        `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
             AND classid = 0 AND objid::bigint = ? AND objsubid = 1 AND granted AND pid = ?)
           AND (SELECT backend_start::text FROM pg_stat_get_activity(?)) = ? AS held`,
        [LOCK_WRITER, lock.pid, lock.pid, lock.since],
      );
      held = row?.held === true;
    }
    if (held) return;
    const why = 'the writer lock was lost before this transaction committed';
    if (lock) this.lockLost(why);
    throw new Error(`${why}: rolled back`);
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
    let me: { pid: number; since: string };
    try {
      me = await this.fenced(client);
    } catch (err) {
      client.release(true);
      throw err;
    }
    if (!me.pid) {
      await client.query('SELECT pg_advisory_unlock($1)', [LOCK_WRITER]).then(() => client.release(), () => client.release(true));
      return null;
    }
    const lock: WriterLock = { client, ...me, lost: new AbortController(), check: undefined };
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

  /**
   * With the writer lock just taken: waits (up to FENCE_WAIT_MS) until no writer transaction of
   * a former holder is between its check and its COMMIT, and names this session for the checks.
   * pid 0: a former holder's transaction did not end in time (a frozen server process); the
   * caller lets the lock go and asks again later.
   */
  private async fenced(client: pg.PoolClient): Promise<{ pid: number; since: string }> {
    for (let waited = 0; ; waited += FENCE_POLL_MS) {
      const [got] = (await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [LOCK_FENCE])).rows;
      if (got?.ok) break;
      if (waited >= FENCE_WAIT_MS) return { pid: 0, since: '' };
      await new Promise((r) => setTimeout(r, FENCE_POLL_MS));
    }
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_FENCE]);
    const [me] = (await client.query<{ pid: number; since: string }>('SELECT pid, backend_start::text AS since FROM pg_stat_activity WHERE pid = pg_backend_pid()')).rows;
    if (!me) throw new Error('the writer lock session is not in pg_stat_activity');
    return me;
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
  /** The server process of the lock's session and its start time (pg_stat_activity.backend_start). */
  pid: number;
  since: string;
  lost: AbortController;
  check: ReturnType<typeof setInterval> | undefined;
}

/** How often the connection holding the writer lock is checked, and how long a check may stay unanswered. */
const LOCK_CHECK_MS = 5_000;
/** Advisory lock keys (arbitrary, fixed): schema setup and the one chain follower. */
const LOCK_SCHEMA = 0x7a6f_7301;
export const LOCK_WRITER = 0x7a6f_7302;
/** Held shared by each writer transaction from its lock check to its COMMIT; a new writer waits on it. */
const LOCK_FENCE = 0x7a6f_7303;
const FENCE_POLL_MS = 50;
const FENCE_WAIT_MS = 10_000;
