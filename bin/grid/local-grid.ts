import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady, mnemonicGenerate } from '@polkadot/util-crypto';
import { Devnet } from '../../chain/devnet/devnet.ts';
import { connectChain, type ChainClient } from '../../chain/client/index.ts';
import { RelayServer } from '../../relay/server.ts';
import { chainTwins } from '../../node/twins.ts';
import type { Logger } from '../../lib/log.ts';
import { CliError, CliErrorCode, explain, faucetUrl } from './errors.ts';
import { fundFromFaucet } from './faucet.ts';
import { NodeProcess } from './nodes.ts';

/**
 * A whole grid on this machine, for `zos up`: an in-process devnet and relay, a farm owned by
 * //Alice, N `zos node` child processes and a funded user account. Everything it creates is
 * tracked as it is created, so close() undoes a partial start too.
 */

export interface LocalGridOptions {
  /** Keep state here (chain in DIR/chain, nodes in DIR/nodes/N); a temp dir, removed on close, when null. */
  dataDir: string | null;
  nodes: number;
  chainPort: number;
  relayPort: number;
  poolSize: string;
  log: Logger;
  /** Progress: a step starts, or ends with `done`. */
  step(text: string, done?: string): void;
}

export interface GridInfo {
  dataDir: string;
  chainUrl: string;
  relayUrl: string;
  activationUrl: string;
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
  farmId = 0;
  private tempDir: string | null = null;
  private devnet: Devnet | null = null;
  private relay: RelayServer | null = null;
  client: ChainClient | null = null;
  private closing: Promise<void> | null = null;
  private readonly abort = new AbortController();
  private readonly spawning = new Set<Promise<void>>();

  constructor(private readonly o: LocalGridOptions) {}

  get activationUrl(): string {
    return faucetUrl(this.chainUrl);
  }

  private checkOpen(): void {
    if (this.closing) throw new CliError(CliErrorCode.startFailed, 'stopped while starting');
  }

  async start(): Promise<void> {
    const { o } = this;
    await cryptoWaitReady();
    if (o.dataDir) await mkdir((this.dataDir = o.dataDir), { recursive: true });
    else this.dataDir = this.tempDir = await mkdtemp(join(tmpdir(), 'zos-up-'));

    o.step('starting the devnet');
    this.devnet = new Devnet({ port: o.chainPort, dev: true, dataDir: o.dataDir ? join(o.dataDir, 'chain') : undefined, logger: o.log.child({ c: 'devnet' }) });
    this.chainUrl = await this.devnet.start().catch((err: NodeJS.ErrnoException) => {
      throw portError(err, o.chainPort, '--chain-port');
    });
    this.client = connectChain({ urls: [this.chainUrl], logger: o.log.child({ c: 'chain' }) });
    await this.client.start();
    o.step('starting the devnet', `devnet ${this.chainUrl}${o.dataDir ? ` (chain kept in ${join(o.dataDir, 'chain')})` : ' (in memory)'}`);
    this.checkOpen();

    this.relay = new RelayServer({ twins: chainTwins(this.client), domains: ['127.0.0.1'], port: o.relayPort, log: o.log.child({ c: 'relay' }) });
    this.relayUrl = await this.relay.start().catch((err: NodeJS.ErrnoException) => {
      throw portError(err, o.relayPort, '--relay-port');
    });
    o.step('', `relay ${this.relayUrl}`);

    o.step('creating the farm');
    const farmer = this.client.as(new Keyring({ type: 'sr25519', ss58Format: 42 }).addFromUri('//Alice'));
    try {
      await farmer.ensureTermsAccepted();
      await farmer.ensureTwin({ relay: null, pk: null });
      this.farmId = (await farmer.ensureFarm(FARM_NAME)).farmId;
    } catch (err) {
      throw explain(err, { chainUrl: this.chainUrl });
    }
    o.step('creating the farm', `farm ${this.farmId} (${FARM_NAME}, owned by //Alice)`);
    this.checkOpen();

    o.step(`starting ${o.nodes} node${o.nodes > 1 ? 's' : ''} (a ${o.poolSize} sparse btrfs pool each)`);
    const started = await Promise.allSettled(
      Array.from({ length: o.nodes }, (_, i) => this.track(this.startNode(join(this.dataDir, 'nodes', String(i + 1))))),
    );
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    this.nodes.sort((a, b) => a.nodeId - b.nodeId);
    for (const n of this.nodes) o.step('', `node ${n.nodeId} twin ${n.twinId} pid ${n.pid} (data ${n.dataDir})`);
  }

  private track(p: Promise<void>): Promise<void> {
    this.spawning.add(p);
    void p.finally(() => this.spawning.delete(p)).catch(() => {});
    return p;
  }

  private async startNode(dataDir: string): Promise<void> {
    this.checkOpen();
    const node = await NodeProcess.spawn({
      chainUrl: this.chainUrl, relayUrl: this.relayUrl, activationUrl: this.activationUrl, farmId: this.farmId, dataDir,
      poolSize: this.o.poolSize, signal: this.abort.signal,
    });
    this.nodes.push(node);
  }

  /**
   * The user account `zos up` deploys with: its mnemonic is kept in DIR/user.mnemonic (reused
   * on the next start) and it is funded from the devnet faucet.
   */
  async user(): Promise<{ mnemonic: string; mnemonicFile: string }> {
    const mnemonicFile = join(this.dataDir, 'user.mnemonic');
    const mnemonic = (await readFile(mnemonicFile, 'utf8').catch(() => '')).trim() || mnemonicGenerate();
    await writeFile(mnemonicFile, `${mnemonic}\n`, { mode: 0o600 });
    const address = new Keyring({ type: 'sr25519', ss58Format: 42 }).addFromUri(mnemonic).address;
    await fundFromFaucet(this.client!, this.activationUrl, address);
    return { mnemonic, mnemonicFile };
  }

  info(user: { address: string; mnemonicFile: string }): GridInfo {
    return {
      dataDir: this.dataDir, chainUrl: this.chainUrl, relayUrl: this.relayUrl, activationUrl: this.activationUrl, farmId: this.farmId,
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
      await this.relay?.close();
      await this.client?.close();
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
