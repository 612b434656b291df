import type { Logger } from '../lib/log.ts';
import { connectChain, type ChainClient } from '../chain/client/index.ts';
import { ChainFollower } from './follower.ts';
import { Kyc } from './kyc.ts';
import { connectRmb, NodePoller } from './nodes-rmb.ts';
import { IndexerServer, type NodeCaller } from './server.ts';
import { CHAIN_TABLES, DDL, SCHEMA_VERSION } from './store/schema.ts';
import type { Sql } from './store/sql.ts';
import { PostgresSql } from './store/postgres.ts';
import { SqliteSql } from './store/sqlite.ts';

export const INDEXER_VERSION = '0.1.0';

export interface IndexerOptions {
  chainUrls: string[];
  host?: string;
  port?: number;
  /** SQLite store directory; null/absent = a temp store removed on close. */
  dataDir?: string | null;
  /** A PostgreSQL URL instead: a store several indexer processes share (one follows the chain at a time). */
  db?: string | null;
  /** Accounts (SS58) the KYC service reports verified; null = every account (a dev grid). */
  kycVerified?: string[] | null;
  /** The indexer's own twin on a relay, to ask nodes over RMB (statistics, health, features); none: no RMB. */
  rmb?: { relayUrl: string; mnemonic: string; activationUrl?: string; pollEveryMs?: number; pollTickMs?: number } | null;
  tls?: { cert: string | Buffer; key: string | Buffer };
  log: Logger;
}

/** Opens the store (SQLite in `dataDir`, or the PostgreSQL at `db`) and brings its tables to the current schema. */
export async function openStore(o: { dataDir: string | null; db?: string | null }): Promise<Sql> {
  const sql: Sql = o.db ? new PostgresSql(o.db) : new SqliteSql(o.dataDir);
  try {
    await sql.migrate(DDL, async (tx) => {
      const [v] = await tx.all<{ value: string }>("SELECT value FROM meta WHERE key = 'schema'");
      if (v && Number(v.value) > Number(SCHEMA_VERSION)) throw new Error(`indexer store has schema ${v.value}, newer than this indexer's ${SCHEMA_VERSION}`);
      if (v?.value === SCHEMA_VERSION) return;
      if (v) {
        // The store only indexes the chain: an older layout is dropped and the chain followed again from scratch.
        for (const t of CHAIN_TABLES) await tx.run(`DROP TABLE ${t}`);
        await tx.run('DELETE FROM meta');
        for (const d of DDL) await tx.run(d);
      }
      await tx.run("INSERT INTO meta (key, value) VALUES ('schema', ?)", [SCHEMA_VERSION]);
    });
    return sql;
  } catch (err) {
    await sql.close();
    throw err;
  }
}

/**
 * `zos indexer`: follows tfchain into a store and serves it as gridproxy REST, GraphQL and a
 * KYC status service on one port. start() resolves with the URL once the store is reconciled
 * with the chain and the server listens; close() stops in reverse order.
 */
export class Indexer {
  private sql: Sql | null = null;
  private client: ChainClient | null = null;
  private follower: ChainFollower | null = null;
  private server: IndexerServer | null = null;
  private rmb: (NodeCaller & { close(): Promise<void> }) | null = null;
  private poller: NodePoller | null = null;
  /** A poller stopped when this process lost the writer lock, until its last round ends. */
  private pollerStopped: Promise<void> = Promise.resolve();
  private closing = false;

  constructor(private readonly o: IndexerOptions) {}

  get chain(): ChainFollower {
    if (!this.follower) throw new Error('indexer is not started');
    return this.follower;
  }

  get store(): Sql {
    if (!this.sql) throw new Error('indexer is not started');
    return this.sql;
  }

  async start(): Promise<string> {
    const log = this.o.log;
    try {
      this.sql = await openStore({ dataDir: this.o.dataDir ?? null, db: this.o.db });
      this.client = connectChain({ urls: this.o.chainUrls, logger: log.child({ c: 'chain' }) });
      await this.client.start();
      this.follower = new ChainFollower(this.client, this.sql, log.child({ c: 'follower' }));
      await this.follower.start();
      const r = this.o.rmb;
      if (r) {
        const rmb = await connectRmb({ client: this.client, relayUrl: r.relayUrl, mnemonic: r.mnemonic, activationUrl: r.activationUrl, log });
        this.rmb = rmb;
        const sql = this.sql;
        // Only the process following the chain polls the nodes: on a shared store the others would
        // write the same answers for twice the RMB traffic. A standby starts when it takes over,
        // and a process that loses the lock stops until it holds it again.
        const poll = (following: boolean) => {
          if (following && !this.poller && !this.closing) {
            this.poller = new NodePoller({ sql, rmb, everyMs: r.pollEveryMs, tickMs: r.pollTickMs, log: log.child({ c: 'poller' }) });
            this.poller.start();
          } else if (!following && this.poller) {
            this.pollerStopped = this.poller.close();
            this.poller = null;
          }
        };
        this.follower.on('following', poll);
        poll(this.follower.following);
      }
      this.server = new IndexerServer({
        sql: this.sql, host: this.o.host ?? '127.0.0.1', port: this.o.port ?? 8080, version: INDEXER_VERSION,
        kyc: new Kyc(this.o.kycVerified ?? null, async (twin) => {
          const [row] = await this.store.all<{ account_id: string }>('SELECT account_id FROM twins WHERE twin_id = ?', [twin]);
          return row?.account_id ?? null;
        }), rmb: this.rmb, tls: this.o.tls, log: log.child({ c: 'http' }),
      });
      return await this.server.start();
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /** The RMB poller: running with `rmb` while this process follows the chain (always on SQLite), else null. */
  get nodePoller(): NodePoller | null {
    return this.poller;
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.server?.close();
    const poller = this.poller;
    this.poller = null;
    await poller?.close();
    await this.pollerStopped;
    await this.rmb?.close();
    await this.follower?.close();
    await this.client?.close();
    await this.sql?.close();
    this.server = this.follower = this.client = this.sql = this.rmb = null;
    this.closing = false;
  }
}
