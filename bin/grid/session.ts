import { connect } from 'node:net';
import { readFile } from 'node:fs/promises';
import { connectChain, type AccountClient, type ChainClient } from '../../chain/client/index.ts';
import { userMetadataDir } from '../../chain/client/metadata-cache.ts';
import { createIdentity, IdentityError, type Identity } from '../../relay-client/identity.ts';
import { RelayPeer } from '../../relay-client/peer.ts';
import { chainTwins } from '../../node/twins.ts';
import type { Logger } from '../../lib/log.ts';
import { fundFromFaucet } from './faucet.ts';
import { chainUnreachable, CliError, CliErrorCode, explain, faucetUrl, insufficientBalance, relayUnreachable, type ErrorContext } from './errors.ts';

/**
 * A user's connection to a grid for the CLI: the chain client bound to the user's key, the
 * twin, and an RMB peer to talk to nodes. `open` fails fast (a TCP probe) with a hint when the
 * chain or relay is not there, instead of retrying forever like the long-lived clients do.
 */

export interface SessionOptions {
  chainUrl: string;
  relayUrl: string;
  /** Mnemonic or 0x hex seed. */
  secret: string;
  keyType?: 'sr25519' | 'ed25519';
  log: Logger;
  connectTimeoutMs?: number;
}

/** The secret from --mnemonic, --key-file or ZOS_MNEMONIC (in that order). */
export async function readSecret(o: { mnemonic?: string; keyFile?: string }): Promise<string> {
  if (o.mnemonic && o.keyFile) throw new CliError(CliErrorCode.badInput, 'use --mnemonic or --key-file, not both');
  if (o.keyFile) {
    try {
      return (await readFile(o.keyFile, 'utf8')).trim();
    } catch (err) {
      throw new CliError(CliErrorCode.badInput, `cannot read --key-file ${o.keyFile}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
  }
  const secret = o.mnemonic ?? process.env.ZOS_MNEMONIC;
  if (!secret) throw new CliError(CliErrorCode.badInput, 'no key given', 'pass --mnemonic "words ...", --key-file FILE, or set ZOS_MNEMONIC (zos up prints a funded one)');
  return secret;
}

/** Resolves when a TCP connection to the URL's host and port succeeds. */
export function probe(url: string, timeoutMs = 3000): Promise<void> {
  const u = new URL(url);
  const port = Number(u.port || (u.protocol === 'wss:' || u.protocol === 'https:' ? 443 : 80));
  return new Promise((resolve, reject) => {
    const sock = connect({ host: u.hostname.replace(/^\[|\]$/g, ''), port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.end();
      resolve();
    });
    sock.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(err.code === 'ECONNREFUSED' ? 'connection refused' : err.code ?? err.message));
    });
  });
}

export class UserSession {
  private peer: RelayPeer | null = null;
  private twin: number | null = null;
  readonly account: AccountClient;
  readonly ctx: ErrorContext;

  private constructor(
    readonly opts: SessionOptions,
    readonly client: ChainClient,
    readonly identity: Identity,
  ) {
    this.account = client.as(identity.pair);
    this.ctx = { chainUrl: opts.chainUrl, relayUrl: opts.relayUrl, address: identity.address };
  }

  static async open(opts: SessionOptions): Promise<UserSession> {
    // The key's wasm set-up and the chain handshake (socket, metadata) overlap: each is a good
    // part of a command's start. The chain is dialled only once its port answers.
    const identityP = createIdentity(opts.secret, opts.keyType ?? 'sr25519');
    const chainProbe = probe(opts.chainUrl).then(() => null, (err: Error) => err);
    const relayProbe = probe(opts.relayUrl).then(() => null, (err: Error) => err);
    const client = connectChain({ urls: [opts.chainUrl], logger: opts.log.child({ c: 'chain' }), metadataCacheDir: userMetadataDir() });
    const timeoutMs = opts.connectTimeoutMs ?? 20_000;
    let timer: NodeJS.Timeout | undefined;
    const started = chainProbe.then((err) =>
      err
        ? err
        : Promise.race([
            client.start().then(() => null),
            new Promise<Error>((resolve) => (timer = setTimeout(() => resolve(new Error(`no chain handshake within ${timeoutMs} ms`)), timeoutMs).unref())),
          ]).catch((e: Error) => e),
    );
    let identity: Identity;
    try {
      identity = await identityP;
    } catch (err) {
      await client.close(); // also ends a handshake under way
      clearTimeout(timer);
      if (err instanceof IdentityError) throw new CliError(CliErrorCode.badInput, `bad key: ${err.message}`, 'pass a 12/24-word mnemonic or a 0x + 64 hex seed');
      throw err;
    }
    const ctx = { chainUrl: opts.chainUrl, relayUrl: opts.relayUrl, address: identity.address };
    try {
      const probeErr = await chainProbe;
      if (probeErr) throw chainUnreachable(ctx, probeErr.message);
      const relayErr = await relayProbe;
      if (relayErr) throw relayUnreachable(ctx, relayErr.message);
      const startErr = await started;
      if (startErr) throw startErr.message.startsWith('no chain handshake') ? chainUnreachable(ctx, startErr.message) : startErr;
    } catch (err) {
      await client.close();
      throw explain(err, ctx);
    } finally {
      clearTimeout(timer);
    }
    return new UserSession(opts, client, identity);
  }

  get address(): string {
    return this.identity.address;
  }

  /** The account's twin id, or null when it has none yet. */
  async twinId(): Promise<number | null> {
    this.twin ??= await this.client.query.twinIdByAccount(this.identity.address);
    return this.twin;
  }

  /** Funds the account from the devnet faucet when it holds nothing (for --fund). */
  async fundIfEmpty(): Promise<boolean> {
    if ((await this.client.query.balance(this.address)).free > 0n) return false;
    await fundFromFaucet(this.client, faucetUrl(this.opts.chainUrl), this.address);
    return true;
  }

  /**
   * Makes the account usable for deployments: it must hold funds; accepts the terms and creates
   * (or updates) its twin with this relay's host and the key's e2e public key.
   */
  async ensureUser(): Promise<number> {
    try {
      if ((await this.client.query.balance(this.address)).free === 0n) throw insufficientBalance(this.ctx, 'its balance is 0');
      await this.account.ensureTermsAccepted();
      const { twinId } = await this.account.ensureTwin({ relay: [new URL(this.opts.relayUrl).hostname], pk: this.identity.secpPublic });
      this.twin = twinId;
      return twinId;
    } catch (err) {
      throw explain(err, this.ctx);
    }
  }

  /** The twin, or a CliError saying the account has never deployed. */
  async requireTwin(): Promise<number> {
    const id = await this.twinId();
    if (id === null) throw new CliError(CliErrorCode.badInput, `account ${this.address} has no twin on this chain`, 'deploy something first (zos deploy FILE), or check --mnemonic / --chain');
    return id;
  }

  /** node id -> the node's twin id; CliError when the chain has no such node. */
  async nodeTwin(nodeId: number): Promise<number> {
    const node = await this.client.query.node(nodeId).catch((err) => {
      throw explain(err, this.ctx);
    });
    if (!node) throw new CliError(CliErrorCode.nodeNotFound, `node ${nodeId} does not exist on ${this.opts.chainUrl}`, 'check the node id (zos up prints them) and --chain');
    return node.twinId;
  }

  /** Sends one RMB request to a node and returns its JSON reply (errors explained). */
  async call<T>(nodeId: number, command: string, payload?: unknown, timeoutMs = 30_000): Promise<T> {
    const dest = await this.nodeTwin(nodeId);
    const peer = await this.relayPeer();
    try {
      return await peer.request<T>(dest, command, payload, { timeoutMs });
    } catch (err) {
      throw explain(err, this.ctx);
    }
  }

  private async relayPeer(): Promise<RelayPeer> {
    if (this.peer) return this.peer;
    const twinId = await this.requireTwin();
    const peer = new RelayPeer({
      identity: this.identity, twinId, relays: [this.opts.relayUrl], twins: chainTwins(this.client),
      sid: `zos-cli-${process.pid}`, log: this.opts.log.child({ c: 'relay' }),
    });
    await peer.start();
    this.peer = peer;
    return peer;
  }

  async close(): Promise<void> {
    await this.peer?.close();
    await this.client.close();
  }
}
