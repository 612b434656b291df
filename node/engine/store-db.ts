// The engine's SQLite file: deployments, their transaction logs and the job queue live in one
// database so a deploy can be stored and enqueued in a single crash-safe transaction.
import Database from 'better-sqlite3';
import { ZosError, zosErrors } from '../errors.ts';

const SCHEMA_VERSION = 3;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS deployments (
  twin INTEGER NOT NULL,
  contract INTEGER NOT NULL,
  version INTEGER NOT NULL,
  metadata TEXT NOT NULL,
  description TEXT NOT NULL,
  signature_requirement TEXT NOT NULL,
  -- hashed but deprecated; zos' answers show 0
  expiration INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (twin, contract)
) STRICT;
-- the active workloads (name -> type); a deleted workload leaves this index. position is the
-- workload's index in the deployment as last signed: the deployment hash depends on that order.
CREATE TABLE IF NOT EXISTS workloads (
  twin INTEGER NOT NULL,
  contract INTEGER NOT NULL,
  name TEXT NOT NULL,
  type TEXT NOT NULL,
  position INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (twin, contract, name),
  FOREIGN KEY (twin, contract) REFERENCES deployments (twin, contract) ON DELETE CASCADE
) STRICT;
-- append-only log of every workload state, full workload JSON including the result
CREATE TABLE IF NOT EXISTS transactions (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  twin INTEGER NOT NULL,
  contract INTEGER NOT NULL,
  name TEXT NOT NULL,
  type TEXT NOT NULL,
  state TEXT NOT NULL,
  workload TEXT NOT NULL,
  FOREIGN KEY (twin, contract) REFERENCES deployments (twin, contract) ON DELETE CASCADE
) STRICT;
CREATE INDEX IF NOT EXISTS transactions_by_workload ON transactions (twin, contract, name, seq);
-- sharable workloads (networks): one name per twin across deployments
CREATE TABLE IF NOT EXISTS networks (
  twin INTEGER NOT NULL,
  name TEXT NOT NULL,
  contract INTEGER NOT NULL,
  PRIMARY KEY (twin, name),
  FOREIGN KEY (twin, contract) REFERENCES deployments (twin, contract) ON DELETE CASCADE
) STRICT;
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  version INTEGER NOT NULL,
  op TEXT NOT NULL,
  twin INTEGER NOT NULL,
  contract INTEGER NOT NULL,
  payload TEXT NOT NULL,
  message TEXT NOT NULL,
  created INTEGER NOT NULL
) STRICT;
-- an update being applied (update-plan.ts): its steps, recorded before the first runs, and how many are done
CREATE TABLE IF NOT EXISTS update_plans (
  twin INTEGER NOT NULL,
  contract INTEGER NOT NULL,
  plan TEXT NOT NULL,
  done INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (twin, contract),
  FOREIGN KEY (twin, contract) REFERENCES deployments (twin, contract) ON DELETE CASCADE
) STRICT;
CREATE TABLE IF NOT EXISTS parked_jobs (
  id INTEGER PRIMARY KEY,
  job TEXT NOT NULL,
  error TEXT NOT NULL,
  parked INTEGER NOT NULL
) STRICT;
`;

export interface EngineDbOptions {
  /** How long a writer waits for another handle's lock before failing (ms). */
  busyTimeoutMs?: number;
}

/**
 * Statements compiled once per SQL text: the store prepares its statements where it uses them,
 * and compiling was a third of what serving a `zos.deployment.get` cost. Safe while no caller
 * changes a statement's mode (pluck/raw/expand) or iterates one, which the engine does not.
 */
function cachePrepared(db: Database.Database): void {
  const compile = db.prepare.bind(db);
  const cache = new Map<string, Database.Statement>();
  db.prepare = ((source: string) => {
    let stmt = cache.get(source);
    if (!stmt) cache.set(source, (stmt = compile(source)));
    return stmt;
  }) as Database.Database['prepare'];
}

/** One open handle on the engine database. Several handles (processes) may share a file. */
export class EngineDb {
  #db: Database.Database | undefined;

  private constructor(db: Database.Database) {
    this.#db = db;
  }

  /** Open (creating if needed) with WAL and synchronous=FULL so a committed write survives power loss. */
  static open(path: string, opts: EngineDbOptions = {}): EngineDb {
    let db: Database.Database;
    try {
      db = new Database(path, { timeout: opts.busyTimeoutMs ?? 5000 });
    } catch (e) {
      throw zosErrors.store(`failed to open engine database '${path}'`, e);
    }
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      db.transaction(() => {
        db.exec(SCHEMA);
        const row = db.prepare(`SELECT value FROM meta WHERE key = 'schema'`).get() as { value: string } | undefined;
        if (row && Number(row.value) > SCHEMA_VERSION) {
          throw zosErrors.store(`engine database schema ${row.value} is newer than supported ${SCHEMA_VERSION}`);
        }
        // Schema 1 kept neither workload positions nor expiration: its rows keep name order and 0.
        if (row && Number(row.value) < 2) {
          db.exec('ALTER TABLE workloads ADD COLUMN position INTEGER NOT NULL DEFAULT 0');
          db.exec('ALTER TABLE deployments ADD COLUMN expiration INTEGER NOT NULL DEFAULT 0');
        }
        db.prepare(`INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)`).run(String(SCHEMA_VERSION));
      }).immediate();
    } catch (e) {
      db.close();
      throw ZosError.is(e) ? e : zosErrors.store(`failed to open engine database '${path}'`, e);
    }
    cachePrepared(db);
    return new EngineDb(db);
  }

  get sql(): Database.Database {
    if (!this.#db) throw zosErrors.closed('engine database');
    return this.#db;
  }

  /** Run fn atomically, taking the write lock up front (nested calls become savepoints). */
  transaction<T>(fn: () => T): T {
    const db = this.sql;
    if (db.inTransaction) return db.transaction(fn)();
    return db.transaction(fn).immediate();
  }

  /** Run fn on one consistent snapshot without taking the write lock. */
  read<T>(fn: () => T): T {
    return this.sql.transaction(fn).deferred();
  }

  async close(): Promise<void> {
    const db = this.#db;
    this.#db = undefined;
    db?.close();
  }
}
