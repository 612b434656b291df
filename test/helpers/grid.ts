import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady, mnemonicGenerate } from '@polkadot/util-crypto';
import { cleanupHostState } from './host.ts';
import { Devnet } from '../../chain/devnet/devnet.ts';
import { connectChain, type ChainClient, type AccountClient } from '../../chain/client/index.ts';
import { RelayServer } from '../../relay/server.ts';
import { RelayPeer } from '../../relay-client/peer.ts';
import { createIdentity, type Identity } from '../../relay-client/identity.ts';
import { chainTwins } from '../../node/twins.ts';
import { silentLogger, createLogger, type Logger } from '../../lib/log.ts';

export const BIN = new URL('../../bin/zos', import.meta.url).pathname;

export interface GridUser {
  identity: Identity;
  twinId: number;
  account: AccountClient;
  peer: RelayPeer;
}

export interface NodeProcess {
  nodeId: number;
  twinId: number;
  dataDir: string;
  proc: ResultPromise;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface Grid {
  chainUrl: string;
  relayUrl: string;
  activationUrl: string;
  devnet: Devnet;
  relay: RelayServer;
  client: ChainClient;
  farmId: number;
  farmer: AccountClient;
  log: Logger;
  startNode(opts?: { dataDir?: string; extraArgs?: string[] }): Promise<NodeProcess>;
  user(opts?: { sid?: string; mnemonic?: string }): Promise<GridUser>;
  close(): Promise<void>;
}

/** A funded user with a twin (relay 127.0.0.1) and a started relay peer; the caller closes `peer`. */
export async function createGridUser(o: { client: ChainClient; activationUrl: string; relayUrl: string; log: Logger; sid?: string; mnemonic?: string }): Promise<GridUser> {
  const identity = await createIdentity(o.mnemonic ?? mnemonicGenerate(), 'sr25519');
  const res = await fetch(o.activationUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ substrateAccountID: identity.address }) });
  if (!res.ok) throw new Error(`faucet: ${res.status} ${await res.text()}`);
  await waitFor(async () => (await o.client.query.balance(identity.address)).free > 0n, 'user funded');
  const account = o.client.as(identity.pair);
  await account.ensureTermsAccepted();
  const { twinId } = await account.ensureTwin({ relay: ['127.0.0.1'], pk: identity.secpPublic });
  const peer = new RelayPeer({ identity, twinId, relays: [o.relayUrl], twins: chainTwins(o.client), sid: o.sid, log: o.log.child({ c: 'user' }) });
  await peer.start();
  return { identity, twinId, account, peer };
}

/** Waits for a line matching `re` on a child's stdout. */
export function waitForLine(proc: ResultPromise, re: RegExp, timeoutMs = 120_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}; stdout so far: ${buf.slice(-500)}`)), timeoutMs);
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = re.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    void Promise.resolve(proc).then(
      (r) => {
        clearTimeout(timer);
        reject(new Error(`process exited (${r.exitCode}) before ${re}: ${String(r.stderr ?? '').slice(-2000)}`));
      },
      (err: Error) => {
        clearTimeout(timer);
        reject(new Error(`process exited before ${re}: ${err.message.slice(-2000)}`));
      },
    );
  });
}

export interface GridOptions {
  log?: boolean;
  /** Serve the relay over TLS (wss://), e.g. for clients that derive the relay host from a wss URL. */
  relayTls?: { cert: string | Buffer; key: string | Buffer };
  /** Relay port (default: a free one). */
  relayPort?: number;
  /** Extra environment for node processes (e.g. NODE_EXTRA_CA_CERTS for a self-signed relay). */
  nodeEnv?: Record<string, string>;
  /** Devnet delay between a watched tx's inBlock and finalized updates (see DevnetOptions). */
  finalityDelayMs?: number;
  /** Relay domains besides 127.0.0.1 (an OS guest under QEMU user networking publishes 10.0.2.2). */
  extraRelayDomains?: string[];
}

/**
 * A whole local grid for tests: an in-process devnet and relay, a farm owned by //Alice,
 * and nodes started as real `zos node` processes (tailscale NewTestEnv style).
 */
export async function startGrid(opts: GridOptions = {}): Promise<Grid> {
  await cryptoWaitReady();
  const log = opts.log ? createLogger({ pretty: false, level: 'debug' }) : silentLogger();
  const devnet = new Devnet({ port: 0, dev: true, finalityDelayMs: opts.finalityDelayMs, logger: log.child({ c: 'devnet' }) });
  const chainUrl = await devnet.start();
  const client = connectChain({ urls: [chainUrl], logger: log.child({ c: 'grid-client' }) });
  await client.start();
  const relay = new RelayServer({ twins: chainTwins(client), domains: ['127.0.0.1', ...(opts.extraRelayDomains ?? [])], port: opts.relayPort ?? 0, tls: opts.relayTls, log: log.child({ c: 'relay' }) });
  const relayUrl = await relay.start().catch(async (err: Error) => {
    await Promise.all([relay.close(), client.close()]);
    await devnet.close();
    throw err;
  });
  const activationUrl = chainUrl.replace(/^ws/, 'http') + '/activation/activate';

  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  const farmer = client.as(keyring.addFromUri('//Alice'));
  await farmer.ensureTermsAccepted();
  await farmer.ensureTwin({ relay: null, pk: null });
  const { farmId } = await farmer.ensureFarm('testfarm');

  const tmpDirs: string[] = [];
  const nodes: NodeProcess[] = [];
  const peers: RelayPeer[] = [];

  async function startNode(o: { dataDir?: string; extraArgs?: string[] } = {}): Promise<NodeProcess> {
    const dataDir = o.dataDir ?? (await mkdtemp(join(tmpdir(), 'zos-node-')));
    if (!o.dataDir) tmpDirs.push(dataDir);
    const proc = execa(BIN, ['node', '--chain', chainUrl, '--relay', relayUrl, '--farm', String(farmId), '--data-dir', dataDir,
      '--activation-url', activationUrl, '--pool-size', '128G', ...(o.extraArgs ?? [])], { reject: false, env: { ZOS_LOG_LEVEL: process.env.ZOS_LOG_LEVEL ?? 'warn', ...opts.nodeEnv }, stderr: process.env.ZOS_TEST_LOGS ? 'inherit' : 'pipe' });
    let m: RegExpExecArray;
    try {
      m = await waitForLine(proc, /ready node (\d+) twin (\d+)/);
    } catch (err) {
      proc.kill('SIGKILL');
      await proc;
      await cleanupHostState(dataDir);
      throw err;
    }
    const node: NodeProcess = {
      nodeId: Number(m[1]), twinId: Number(m[2]), dataDir, proc,
      async kill(signal = 'SIGTERM') {
        proc.kill(signal);
        await proc;
      },
    };
    nodes.push(node);
    return node;
  }

  async function user(o: { sid?: string; mnemonic?: string } = {}): Promise<GridUser> {
    const u = await createGridUser({ client, activationUrl, relayUrl, log, ...o });
    peers.push(u.peer);
    return u;
  }

  return {
    chainUrl, relayUrl, activationUrl, devnet, relay, client, farmId, farmer, log, startNode, user,
    async close() {
      for (const p of peers) await p.close();
      for (const n of nodes) if (n.proc.exitCode === null) await n.kill('SIGTERM');
      for (const n of nodes) await cleanupHostState(n.dataDir);
      await relay.close();
      await client.close();
      await devnet.close();
      for (const d of tmpDirs) {
        await cleanupHostState(d);
        await rm(d, { recursive: true, force: true });
      }
    },
  };
}

/** Polls `check` until it is true (or throws after `timeoutMs`). */
export async function waitFor(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 60_000, everyMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
