import { cryptoWaitReady } from '@polkadot/util-crypto';
import { type Clock, systemClock } from '../../lib/clock.ts';
import { type Logger, silentLogger } from '../../lib/log.ts';
import { Executive } from './executive/executive.ts';
import { devGenesis, type DevGenesisOptions } from './genesis.ts';
import { devnetPallets } from './pallets/index.ts';
import { ChainDb } from './persist.ts';
import { activationRoute, createDispatcher, RpcServer } from './rpc/index.ts';
import { Runtime } from './runtime/runtime.ts';
import { StateStore } from './runtime/state.ts';

export interface DevnetOptions {
  /** Listen address (default 127.0.0.1). */
  host?: string;
  /** Listen port (default 9944; 0 picks a free one). */
  port?: number;
  /** Keep the chain in this directory (SQLite); memory only when absent. */
  dataDir?: string;
  /** Also seal a block every blockMs, even without transactions. */
  blockMs?: number;
  /** How far chain time may run ahead of the wall clock before instant seal waits (see ExecutiveOptions). */
  maxAheadMs?: number;
  /** Delay between a watched tx's inBlock and finalized updates (see ExecutiveOptions). */
  finalityDelayMs?: number;
  clock?: Clock;
  logger?: Logger;
  /** Extra genesis endowments and pallet genesis overrides (ignored when dataDir already holds a chain). */
  genesis?: DevGenesisOptions;
  /**
   * Serve the `dev_*` RPCs (mint, time travel, seal) and the faucet. Off by default: anyone who
   * can reach the port could otherwise mint funds or rewrite time (`zos devnet --dev`, `zos up`).
   */
  dev?: boolean;
  /** Origins (scheme://host[:port]) allowed besides localhost ones; 'all' turns the check off. */
  allowedOrigins?: string[] | 'all';
}

export const DEVNET_VERSION = '0.1.0';

/**
 * A tfchain-compatible development chain: the generated-metadata runtime, an
 * instant-seal executive and a JSON-RPC server (WebSocket + HTTP) that
 * @polkadot/api and the tfchain clients talk to.
 */
export class Devnet {
  private runtime: Runtime | null = null;
  private executive: Executive | null = null;
  private server: RpcServer | null = null;
  private db: ChainDb | null = null;
  private wsUrl: string | null = null;
  private starting: Promise<string> | null = null;
  private closing: Promise<void> | null = null;
  private readonly log: Logger;

  constructor(private readonly opts: DevnetOptions = {}) {
    this.log = opts.logger ?? silentLogger();
  }

  /** Starts the chain and the RPC server; resolves to the ws:// URL. */
  start(): Promise<string> {
    if (this.closing) return Promise.reject(new Error('devnet is closed'));
    this.starting ??= this.boot();
    return this.starting;
  }

  get url(): string {
    if (!this.wsUrl) throw new Error('devnet is not started');
    return this.wsUrl;
  }

  /** The live chain (for tests and embedding): pool, blocks, dev mutations. */
  get chain(): Executive {
    if (!this.executive) throw new Error('devnet is not started');
    return this.executive;
  }

  get runtimeInstance(): Runtime {
    if (!this.runtime) throw new Error('devnet is not started');
    return this.runtime;
  }

  private async boot(): Promise<string> {
    const genesis = await devGenesis(this.opts.genesis);
    const loaded = this.opts.dataDir ? (this.db = new ChainDb(this.opts.dataDir)).load() : null;
    const runtime = new Runtime(devnetPallets(genesis), new StateStore(loaded?.state));
    const executive = new Executive({
      runtime,
      clock: this.opts.clock ?? systemClock,
      logger: this.log.child({ component: 'executive' }),
      blockMs: this.opts.blockMs,
      finalityDelayMs: this.opts.finalityDelayMs,
      maxAheadMs: this.opts.maxAheadMs,
      sink: this.db ?? undefined,
      restored: loaded?.blocks,
    });
    this.runtime = runtime;
    this.executive = executive;
    const backend = { runtime, executive, nodeName: 'zos-devnet', nodeVersion: DEVNET_VERSION };
    const rpcLog = this.log.child({ component: 'rpc' });
    this.server = new RpcServer({
      host: this.opts.host ?? '127.0.0.1',
      port: this.opts.port ?? 9944,
      dispatcher: createDispatcher(backend, rpcLog, { dev: this.opts.dev ?? false }),
      logger: rpcLog,
      routes: {
        '/activation/activate': this.opts.dev
          ? activationRoute(executive, rpcLog)
          : () => ({ status: 404, body: { error: 'the faucet is served only by a devnet started with --dev' } }),
      },
      allowedOrigins: this.opts.allowedOrigins,
    });
    const addr = await this.server.start();
    executive.start();
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    this.wsUrl = `ws://${host}:${addr.port}`;
    this.log.info({ url: this.wsUrl, best: executive.chain.best.number, genesis: executive.chain.genesis.hash, dataDir: this.opts.dataDir ?? null }, 'devnet ready');
    return this.wsUrl;
  }

  /** Stops serving and closes the database; idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.starting?.catch(() => {});
      await this.server?.close();
      await this.executive?.close();
      this.db?.close();
    })();
    return this.closing;
  }
}
