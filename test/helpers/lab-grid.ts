import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import type { ResultPromise } from 'execa';
import { connectChain, type AccountClient, type ChainClient } from '../../chain/client/index.ts';
import { silentLogger } from '../../lib/log.ts';
import { BIN } from './grid.ts';
import { cleanupHostState } from './host.ts';
import { Lab, SERVICES_IP, waitOutput, type LabHost, type LabOptions } from './lab.ts';
import { selfSignedCert } from './tls.ts';

const CHAIN_PORT = 9944;
const RELAY_PORT = 8080;

export interface LabGridOptions extends LabOptions {
  /**
   * Serve the relay as wss://198.18.0.2/ (port 443, a self-signed certificate the nodes trust):
   * the official RMB client needs a relay on the default port. Clients in the lab set
   * NODE_EXTRA_CA_CERTS to `certPath`.
   */
  relayTls?: boolean;
}

export interface LabNode {
  host: LabHost;
  nodeId: number;
  twinId: number;
  dataDir: string;
  proc: ResultPromise;
  /** Stops the node process (SIGTERM by default); its network resources stay, as on a real node. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * A grid inside a lab: `zos devnet` and `zos relay` in the services namespace, `zos node` in
 * each node namespace (chain, relay and faucet at 198.18.0.2), a farm owned by //Alice. The
 * test process reaches chain and relay through loopback forwards (`chainUrl`, `relayUrl`); the
 * relay also answers to the domain 127.0.0.1 so users connected that way are routed locally.
 */
export class LabGrid {
  readonly lab = new Lab();
  readonly nodes: LabNode[] = [];
  chainUrl = '';
  relayUrl = '';
  activationUrl = '';
  /** The same services as the nodes see them. */
  readonly inside: { chain: string; relay: string; activation: string } = { chain: `ws://${SERVICES_IP}:${CHAIN_PORT}`, relay: `ws://${SERVICES_IP}:${RELAY_PORT}`, activation: `http://${SERVICES_IP}:${CHAIN_PORT}/activation/activate` };
  /** The relay's certificate and key with relayTls (for 198.18.0.2: other lab services may serve https with them). */
  certPath = '';
  keyPath = '';
  client!: ChainClient;
  farmer!: AccountClient;
  farmId = 0;
  private dirs: string[] = [];

  async start(o: LabGridOptions = {}): Promise<this> {
    await cryptoWaitReady();
    await this.lab.start(o);
    try {
      const devnet = this.lab.spawn(this.lab.services, BIN, ['devnet', '--dev', '--host', SERVICES_IP, '--port', String(CHAIN_PORT)], { env: { ZOS_LOG_LEVEL: 'warn' } });
      await waitOutput(devnet, /ready ws:/);
      const tls: string[] = [];
      if (o.relayTls) {
        // 127.0.0.1 too: the test process's own RMB peers reach the relay through a forward there (relayUrl).
        const cert = await selfSignedCert(this.lab.dir, SERVICES_IP, ['127.0.0.1']);
        this.certPath = cert.certPath;
        this.keyPath = cert.keyPath;
        tls.push('--tls-cert', cert.certPath, '--tls-key', cert.keyPath);
        this.inside.relay = `wss://${SERVICES_IP}/`;
      }
      const relayPort = o.relayTls ? 443 : RELAY_PORT;
      const relay = this.lab.spawn(this.lab.services, BIN, ['relay', '--host', SERVICES_IP, '--port', String(relayPort), '--chain', this.inside.chain,
        '--domain', SERVICES_IP, '--domain', '127.0.0.1', ...tls], { env: { ZOS_LOG_LEVEL: 'warn' } });
      await waitOutput(relay, /ready wss?:/);
      const chainPort = await this.lab.forward(CHAIN_PORT);
      this.chainUrl = `ws://127.0.0.1:${chainPort}`;
      this.activationUrl = `http://127.0.0.1:${chainPort}/activation/activate`;
      this.relayUrl = `${o.relayTls ? 'wss' : 'ws'}://127.0.0.1:${await this.lab.forward(relayPort)}`;
      this.client = connectChain({ urls: [this.chainUrl], logger: silentLogger() });
      await this.client.start();
      this.farmer = this.client.as(new Keyring({ type: 'sr25519', ss58Format: 42 }).addFromUri('//Alice'));
      await this.farmer.ensureTermsAccepted();
      await this.farmer.ensureTwin({ relay: null, pk: null });
      ({ farmId: this.farmId } = await this.farmer.ensureFarm('labfarm'));
    } catch (err) {
      await this.close();
      throw err;
    }
    return this;
  }

  /** Starts `zos node` in lab node `i` (0-based); a given dataDir restarts that node; `args` go to `zos node`. */
  async startNode(i: number, o: { dataDir?: string; env?: Record<string, string>; args?: string[] } = {}): Promise<LabNode> {
    const dataDir = o.dataDir ?? (await mkdtemp(join(tmpdir(), `${this.lab.id}-node${i}-`)));
    if (!o.dataDir) this.dirs.push(dataDir);
    const host = this.lab.nodes[i]!;
    const proc = this.lab.spawn(host, BIN, ['node', '--chain', this.inside.chain, '--relay', this.inside.relay, '--farm', String(this.farmId),
      '--data-dir', dataDir, '--activation-url', this.inside.activation, '--pool-size', '128G', ...(o.args ?? [])],
    { env: { ZOS_LOG_LEVEL: process.env.ZOS_LOG_LEVEL ?? 'warn', ...(this.certPath ? { NODE_EXTRA_CA_CERTS: this.certPath } : {}), ...o.env }, stderr: process.env.ZOS_TEST_LOGS ? 'inherit' : 'pipe' });
    const out = await waitOutput(proc, /ready node (\d+) twin (\d+)/, 'stdout', 120_000);
    const m = /ready node (\d+) twin (\d+)/.exec(out)!;
    const node: LabNode = {
      host, nodeId: Number(m[1]), twinId: Number(m[2]), dataDir, proc,
      async kill(signal = 'SIGTERM') {
        proc.kill(signal);
        await proc;
      },
    };
    this.nodes.push(node);
    return node;
  }

  async close(): Promise<void> {
    await this.client?.close().catch(() => undefined);
    for (const n of this.nodes) if (n.proc.exitCode === null) await n.kill('SIGTERM');
    await this.lab.close();
    for (const d of [...this.dirs, ...this.nodes.map((n) => n.dataDir)]) await cleanupHostState(d);
    for (const d of this.dirs) await rm(d, { recursive: true, force: true });
  }
}
