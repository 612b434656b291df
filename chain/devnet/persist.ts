import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { BlockRecord } from './executive/chain-store.ts';
import type { BlockSink } from './executive/executive.ts';

const SCHEMA_VERSION = '1';

export interface LoadedChain {
  state: Array<[string, Uint8Array]>;
  blocks: BlockRecord[];
}

/**
 * On-disk chain for `--data-dir`: the state (key -> SCALE bytes) and the block
 * list, written in one SQLite transaction per block (WAL), so a crash leaves
 * either the whole block or none of it.
 */
export class ChainDb implements BlockSink {
  private readonly db: Database.Database;
  private readonly putState: Database.Statement;
  private readonly delState: Database.Statement;
  private readonly putBlock: Database.Statement;
  private closed = false;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new Database(join(dataDir, 'chain.sqlite'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS blocks (number INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE, header TEXT NOT NULL, extrinsics TEXT NOT NULL);
    `);
    const version = this.db.prepare('SELECT value FROM meta WHERE key = ?').get('schema') as { value: string } | undefined;
    if (!version) this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('schema', SCHEMA_VERSION);
    else if (version.value !== SCHEMA_VERSION) throw new Error(`unsupported devnet data schema ${version.value} in ${dataDir}`);
    this.putState = this.db.prepare('INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
    this.delState = this.db.prepare('DELETE FROM state WHERE key = ?');
    this.putBlock = this.db.prepare('INSERT INTO blocks (number, hash, header, extrinsics) VALUES (?, ?, ?, ?)');
  }

  /** The stored chain, or null for a fresh data dir. */
  load(): LoadedChain | null {
    const rows = this.db.prepare('SELECT number, hash, header, extrinsics FROM blocks ORDER BY number').all() as Array<{
      number: number;
      hash: string;
      header: string;
      extrinsics: string;
    }>;
    if (rows.length === 0) return null;
    rows.forEach((r, i) => {
      if (r.number !== i) throw new Error(`devnet data is missing block ${i}`);
    });
    const state = (this.db.prepare('SELECT key, value FROM state').all() as Array<{ key: string; value: Buffer }>).map(
      (r) => [r.key, new Uint8Array(r.value)] as [string, Uint8Array],
    );
    const blocks = rows.map((r) => ({ number: r.number, hash: r.hash, header: JSON.parse(r.header), extrinsics: JSON.parse(r.extrinsics) }));
    return { state, blocks };
  }

  saveBlock(block: BlockRecord, changes: ReadonlyArray<[string, Uint8Array | null]>): void {
    this.db.transaction(() => {
      for (const [key, value] of changes) {
        if (value === null) this.delState.run(key);
        else this.putState.run(key, Buffer.from(value.buffer, value.byteOffset, value.byteLength));
      }
      this.putBlock.run(block.number, block.hash, JSON.stringify(block.header), JSON.stringify(block.extrinsics));
    })();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}
