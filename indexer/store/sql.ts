/**
 * The one seam between the indexer and its database: positional `?` parameters, rows as plain
 * objects. SQLite (embedded, default) and PostgreSQL (shared) implement it, so the event
 * mapping, REST and GraphQL code are written once.
 */
export type Param = string | number | bigint | null;
export type Row = Record<string, unknown>;

export interface SqlTx {
  all<T extends Row = Row>(sql: string, params?: readonly Param[]): Promise<T[]>;
  run(sql: string, params?: readonly Param[]): Promise<void>;
}

export interface Sql extends SqlTx {
  /** Runs `fn` in one transaction: all of it is committed, or none. Reads outside see only committed data. */
  transaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T>;
  /**
   * As `transaction`, for the writes only the writer lock's holder makes (the follower's): it
   * commits only while this process still holds that lock, checked on the server just before
   * COMMIT. One that lost it (even before this process noticed) throws and commits nothing, and
   * the lock's signal aborts. A new holder waits for a transaction that passed the check to end.
   */
  writerTransaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T>;
  /** Runs the schema statements and then `check`, in one transaction no other process runs at the same time. */
  migrate(ddl: readonly string[], check: (tx: SqlTx) => Promise<void>): Promise<void>;
  /**
   * Makes this process the store's one chain follower if no other process is: null when another
   * holds the lock, else a signal that aborts when this process loses it (a shared store's
   * connection dropped), after which it must stop writing until it holds the lock again. An
   * embedded store, which one process owns, grants it at once and never takes it back.
   */
  tryWriterLock(): Promise<AbortSignal | null>;
  close(): Promise<void>;
  readonly kind: 'sqlite' | 'postgres';
}
