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
  close(): Promise<void>;
  readonly kind: 'sqlite' | 'postgres';
}
