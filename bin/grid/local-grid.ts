import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady, mnemonicGenerate } from '@polkadot/util-crypto';
import { Devnet } from '../../chain/devnet/devnet.ts';
import { DEVNET_MAX_AHEAD_MS } from '../../chain/devnet/pace.ts';
import { connectChain, type AccountClient, type ChainClient } from '../../chain/client/index.ts';
import { RelayServer } from '../../relay/server.ts';
import { chainTwins } from '../../node/twins.ts';
import type { Logger } from '../../lib/log.ts';
import type { Indexer } from '../../indexer/indexer.ts';
import { formatSize } from '../../lib/size.ts';
import { CliError, CliErrorCode, explain, faucetUrl } from './errors.ts';
import { fundFromFaucet } from './faucet.ts';
import { NodeProcess } from './nodes.ts';

/**
 * A whole grid on this machine, for `zos up` and the tests (test/helpers/grid.ts): an in-process
 * devnet and relay, a farm owned by //Alice, `zos node` child processes and, for `zos up`, a funded
 * user account. Everything it creates is tracked as it is created, so close() undoes a partial
 * start too, and leaves no mount or loop device behind.
 */

export interface LocalGridOptions {
  /** Keep state here (chain in DIR/chain, nodes in DIR/nodes/N); a temp dir, removed on close, when null. */
  dataDir: string | null;
  /** Nodes start() starts (more with startNode()); default 0. */
  nodes?: number;
  /** Devnet and relay ports; 0 (the default) takes free ones. */
  chainPort?: number;
  relayPort?: number;
  /** Start an indexer (gridproxy REST, /graphql, KYC) on this port (0: a free one); none when absent. */
  indexerPort?: number;
  /** Relay domains besides 127.0.0.1. */
  relayDomains?: string[];
  /** Serve the relay over TLS (wss://). */
  relayTls?: { cert: string | Buffer; key: string | Buffer };
  /** Devnet delay between a watched tx's inBlock and finalized updates (see DevnetOptions). */
  finalityDelayMs?: number;
  /**
   * Devnet: how far chain time may run ahead of the wall clock before instant seal waits (default
   * DEVNET_MAX_AHEAD_MS). Test grids pass Infinity: they seal bursts of setup blocks and check no
   * uptime report; the pacing itself is tested on the executive.
   */
  chainMaxAheadMs?: number;
  /** Bytes of each node's sparse pool image; default 128 GiB (tfchain needs >= 100 GiB SRU). */
  poolSize?: number;
  farmName?: string;
  /** More `zos node` flags for the node in DIR/nodes/N (N from 1). */
  nodeArgs?: (n: number) => readonly string[];
  /** Extra environment for node processes. */
  nodeEnv?: Record<string, string>;
  log: Logger;
  /** Progress: a step starts, or ends with `done`. */
  step?(text: string, done?: string): void;
}

export interface GridInfo {
  dataDir: string;
  chainUrl: string;
  relayUrl: string;
  activationUrl: string;
  /** gridproxy REST (GridClient proxyURL), GraphQL at `${indexerUrl}/graphql`, KYC status; '' without an indexer. */
  indexerUrl: string;
  farmId: number;
  nodes: Array<{ nodeId: number; twinId: number; pid: number | undefined; dataDir: string; log: string }>;
  user: { address: string; mnemonicFile: string };
}

export const FARM_NAME = 'localfarm';

export class LocalGrid {
  readonly nodes: NodeProcess[] = [];
  dataDir = '';
  chainUrl = '';
  relayUrl = '';
  indexerUrl = '';
  farmId = 0;
  private tempDir: string | null = null;
  private devnet: Devnet | null = null;
  private relay: RelayServer | null = null;
  private indexer: Indexer | null = null;
  #client: ChainClient | null = null;
  #farmer: AccountClient | null = null;
  private nodeDirs = 0;
  private closing: Promise<void> | null = null;
  private readonly abort = new AbortController();
  private readonly spawning = new Set<Promise<void>>();

  private readonly poolSize: number;
  private readonly step: (text: string, done?: string) => void;

  constructor(private readonly o: LocalGridOptions) {
    this.poolSize = o.poolSize ?? 128 * 2 ** 30;
    this.step = o.step ?? (() => undefined);
  }

  /** The grid's chain client; after start(). */
  get client(): ChainClient {
    if (!this.#client) throw new Error('local grid not started');
    return this.#client;
  }

  /** //Alice, owner of the farm; after start(). */
  get farmer(): AccountClient {
    if (!this.#farmer) throw new Error('local grid not started');
    return this.#farmer;
  }

  get activationUrl(): string {
    return faucetUrl(this.chainUrl);
  }

  private checkOpen(): void {
    if (this.closing) throw new CliError(CliErrorCode.startFailed, 'stopped while starting');
  }

  async start(): Promise<void> {
    const { o, step } = this;
    const farmName = o.farmName ?? FARM_NAME;
    await cryptoWaitReady();
    // Absolute: node data dirs below it are matched against /proc/mounts when they are cleaned up.
    if (o.dataDir) await mkdir((this.dataDir = resolve(o.dataDir)), { recursive: true });
    else this.dataDir = this.tempDir = await mkdtemp(join(tmpdir(), 'zos-grid-'));

    step('starting the devnet');
    const chainDir = o.dataDir ? join(this.dataDir, 'chain') : undefined;
    this.devnet = new Devnet({ port: o.chainPort ?? 0, dev: true, dataDir: chainDir, finalityDelayMs: o.finalityDelayMs, maxAheadMs: o.chainMaxAheadMs ?? DEVNET_MAX_AHEAD_MS, logger: o.log.child({ c: 'devnet' }) });
    this.chainUrl = await this.devnet.start().catch((err: NodeJS.ErrnoException) => {
      throw portError(err, o.chainPort ?? 0, '--chain-port');
    });
    this.#client = connectChain({ urls: [this.chainUrl], logger: o.log.child({ c: 'chain' }) });
    await this.#client.start();
    step('starting the devnet', `devnet ${this.chainUrl}${chainDir ? ` (chain kept in ${chainDir})` : ' (in memory)'}`);
    this.checkOpen();

    this.relay = new RelayServer({ twins: chainTwins(this.#client), domains: ['127.0.0.1', ...(o.relayDomains ?? [])], port: o.relayPort ?? 0, tls: o.relayTls, log: o.log.child({ c: 'relay' }) });
    this.relayUrl = await this.relay.start().catch((err: NodeJS.ErrnoException) => {
      throw portError(err, o.relayPort ?? 0, '--relay-port');
    });
    step('', `relay ${this.relayUrl}`);

    if (o.indexerPort !== undefined) {
      step('starting the indexer');
      // It asks the nodes over RMB as its own twin (a fresh account funded by the devnet faucet).
      const { Indexer } = await import('../../indexer/indexer.ts');
      this.indexer = new Indexer({
        chainUrls: [this.chainUrl], port: o.indexerPort, dataDir: o.dataDir ? join(this.dataDir, 'indexer') : null, log: o.log.child({ c: 'indexer' }),
        rmb: { relayUrl: this.relayUrl, mnemonic: mnemonicGenerate(), activationUrl: this.activationUrl },
      });
      this.indexerUrl = await this.indexer.start().catch((err: NodeJS.ErrnoException) => {
        throw portError(err, o.indexerPort ?? 0, '--indexer-port');
      });
      step('starting the indexer', `indexer ${this.indexerUrl} (gridproxy REST, ${this.indexerUrl}/graphql, KYC status)`);
      this.checkOpen();
    }

    step('creating the farm');
    this.#farmer = this.#client.as(new Keyring({ type: 'sr25519', ss58Format: 42 }).addFromUri('//Alice'));
    try {
      await this.#farmer.ensureTermsAccepted();
      await this.#farmer.ensureTwin({ relay: null, pk: null });
      this.farmId = (await this.#farmer.ensureFarm(farmName)).farmId;
    } catch (err) {
      throw explain(err, { chainUrl: this.chainUrl });
    }
    step('creating the farm', `farm ${this.farmId} (${farmName}, owned by //Alice)`);
    this.checkOpen();

    const n = o.nodes ?? 0;
    if (!n) return;
    step(`starting ${n} node${n > 1 ? 's' : ''} (a ${formatSize(this.poolSize)} sparse btrfs pool each)`);
    const started = await Promise.allSettled(Array.from({ length: n }, () => this.startNode()));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    this.nodes.sort((a, b) => a.nodeId - b.nodeId);
    for (const node of this.nodes) step('', `node ${node.nodeId} twin ${node.twinId} pid ${node.pid} (data ${node.dataDir})`);
  }

  /**
   * Starts a `zos node` in `dataDir` (default: the next DIR/nodes/N); a data dir a stopped node
   * used restarts that node. A node still starting when the grid closes is killed.
   */
  startNode(o: { dataDir?: string; extraArgs?: readonly string[]; env?: Record<string, string> } = {}): Promise<NodeProcess> {
    this.checkOpen();
    const n = o.dataDir ? 0 : ++this.nodeDirs;
    const spawned = NodeProcess.spawn({
      chainUrl: this.chainUrl, relayUrl: this.relayUrl, activationUrl: this.activationUrl, farmId: this.farmId,
      dataDir: o.dataDir ?? join(this.dataDir, 'nodes', String(n)), extraArgs: [...(n && this.o.nodeArgs ? this.o.nodeArgs(n) : []), ...(o.extraArgs ?? [])],
      poolSize: this.poolSize, env: { ...this.o.nodeEnv, ...o.env }, signal: this.abort.signal,
    }).then((node) => {
      this.nodes.push(node);
      return node;
    });
    const tracked = spawned.then(() => undefined, () => undefined);
    this.spawning.add(tracked);
    void tracked.finally(() => this.spawning.delete(tracked));
    return spawned;
  }

  /**
   * The user account `zos up` deploys with: its mnemonic is kept in DIR/user.mnemonic (reused
   * on the next start) and it is funded from the devnet faucet.
   */
  async upUser(): Promise<{ mnemonic: string; mnemonicFile: string }> {
    const mnemonicFile = join(this.dataDir, 'user.mnemonic');
    const mnemonic = (await readFile(mnemonicFile, 'utf8').catch(() => '')).trim() || mnemonicGenerate();
    await writeFile(mnemonicFile, `${mnemonic}\n`, { mode: 0o600 });
    const address = new Keyring({ type: 'sr25519', ss58Format: 42 }).addFromUri(mnemonic).address;
    await fundFromFaucet(this.client, this.activationUrl, address);
    return { mnemonic, mnemonicFile };
  }

  info(user: { address: string; mnemonicFile: string }): GridInfo {
    return {
      dataDir: this.dataDir, chainUrl: this.chainUrl, relayUrl: this.relayUrl, activationUrl: this.activationUrl, indexerUrl: this.indexerUrl, farmId: this.farmId,
      nodes: this.nodes.map((n) => ({ nodeId: n.nodeId, twinId: n.twinId, pid: n.pid, dataDir: n.dataDir, log: n.logFile })),
      user,
    };
  }

  /** Stops nodes (releasing their mounts and loop devices), relay and devnet; removes a temp dir. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      // Nodes still starting are killed (cancelSignal) and clean up after themselves.
      this.abort.abort();
      await Promise.allSettled([...this.spawning]);
      await Promise.all(this.nodes.map((n) => n.stop()));
      await this.indexer?.close();
      await this.relay?.close();
      await this.#client?.close();
      await this.devnet?.close();
      if (this.tempDir) await rm(this.tempDir, { recursive: true, force: true });
    })();
    return this.closing;
  }
}

function portError(err: NodeJS.ErrnoException, port: number, flag: string): Error {
  if (err.code !== 'EADDRINUSE') return err;
  return new CliError(CliErrorCode.portInUse, `port ${port} is in use`, `is another \`zos up\`/\`zos devnet\`/\`zos relay\` running? stop it, or pass ${flag} 0 for a free port`);
}
