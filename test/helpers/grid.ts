import type { ResultPromise } from 'execa';
import { createIdentity, type Identity } from '../../relay-client/identity.ts';
import type { KeyType } from '../../rmb/signature.ts';
import { mnemonicGenerate } from '@polkadot/util-crypto';
import type { AccountClient, ChainClient } from '../../chain/client/index.ts';
import { RelayPeer } from '../../relay-client/peer.ts';
import { chainTwins } from '../../node/twins.ts';
import { silentLogger, createLogger, type Logger } from '../../lib/log.ts';
import { fundFromFaucet } from '../../bin/grid/faucet.ts';
import { LocalGrid } from '../../bin/grid/local-grid.ts';
import { ZOS_BIN, type NodeProcess } from '../../bin/grid/nodes.ts';

export type { NodeProcess };
export const BIN = ZOS_BIN;

export interface GridUser {
  identity: Identity;
  twinId: number;
  account: AccountClient;
  peer: RelayPeer;
}

export interface Grid {
  chainUrl: string;
  relayUrl: string;
  activationUrl: string;
  client: ChainClient;
  farmId: number;
  log: Logger;
  /** A `zos node` process; a dataDir a stopped node used restarts that node; `env` adds to its environment (e.g. ZOS_FAILPOINTS). */
  startNode(opts?: { dataDir?: string; extraArgs?: string[]; env?: Record<string, string> }): Promise<NodeProcess>;
  /** A fresh funded twin with a relay peer connected (sr25519 unless `keyType` says otherwise). */
  user(opts?: { sid?: string; mnemonic?: string; keyType?: KeyType }): Promise<GridUser>;
  close(): Promise<void>;
}

/** A funded user with a twin (relay 127.0.0.1) and a started relay peer; the caller closes `peer`. */
export async function createGridUser(o: { client: ChainClient; activationUrl: string; relayUrl: string; log: Logger; sid?: string; mnemonic?: string; keyType?: KeyType; ca?: string }): Promise<GridUser> {
  const identity = await createIdentity(o.mnemonic ?? mnemonicGenerate(), o.keyType ?? 'sr25519');
  await fundFromFaucet(o.client, o.activationUrl, identity.address);
  const account = o.client.as(identity.pair);
  await account.ensureTermsAccepted();
  const { twinId } = await account.ensureTwin({ relay: ['127.0.0.1'], pk: identity.secpPublic });
  const peer = new RelayPeer({ identity, twinId, relays: [o.relayUrl], twins: chainTwins(o.client), sid: o.sid, ca: o.ca, log: o.log.child({ c: 'user' }) });
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
 * A whole local grid for tests (tailscale NewTestEnv style): the same LocalGrid `zos up` runs,
 * in a temp dir, with nodes started on demand and test users that talk RMB.
 */
export async function startGrid(opts: GridOptions = {}): Promise<Grid> {
  const log = opts.log ? createLogger({ pretty: false, level: 'debug' }) : silentLogger();
  const grid = new LocalGrid({
    dataDir: null, relayTls: opts.relayTls, relayPort: opts.relayPort, relayDomains: opts.extraRelayDomains, finalityDelayMs: opts.finalityDelayMs, chainMaxAheadMs: Infinity, farmName: 'testfarm',
    nodeEnv: { ZOS_LOG_LEVEL: process.env.ZOS_LOG_LEVEL ?? 'warn', ...opts.nodeEnv }, log,
  });
  try {
    await grid.start();
  } catch (err) {
    await grid.close();
    throw err;
  }
  const peers: RelayPeer[] = [];

  async function user(o: { sid?: string; mnemonic?: string; keyType?: KeyType } = {}): Promise<GridUser> {
    const u = await createGridUser({ client: grid.client, activationUrl: grid.activationUrl, relayUrl: grid.relayUrl, log, ...o });
    peers.push(u.peer);
    return u;
  }

  return {
    chainUrl: grid.chainUrl, relayUrl: grid.relayUrl, activationUrl: grid.activationUrl, client: grid.client, farmId: grid.farmId, log,
    startNode: (o) => grid.startNode(o), user,
    async close() {
      for (const p of peers) await p.close();
      await grid.close();
    },
  };
}

/**
 * Polls `check` until it is true (or throws after `timeoutMs`). A check still running at the
 * deadline gets CHECK_GRACE_MS more to answer (as before, a late true passes); one that never
 * answers fails instead of hanging the file.
 */
export async function waitFor(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 60_000, everyMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await within((async () => check())(), Math.max(deadline - Date.now(), 0) + CHECK_GRACE_MS, `a check of ${what}`)) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const CHECK_GRACE_MS = 30_000;

/**
 * `p`, or a failure naming `what` once `ms` have passed: an await in a test that depends on
 * another process or a server must fail with a message, not hang the whole file.
 */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
