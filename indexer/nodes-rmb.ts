import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../lib/log.ts';
import { Backoff } from '../lib/backoff.ts';
import type { ChainClient } from '../chain/client/index.ts';
import { chainTwins } from '../node/twins.ts';
import { createIdentity } from '../relay-client/identity.ts';
import { RelayPeer } from '../relay-client/peer.ts';
import type { NodeCaller } from './server.ts';
import type { Sql } from './store/sql.ts';

/**
 * The indexer's RMB side, as gridproxy's own indexers: an outbound peer on the relay under
 * the indexer's twin, and a poller that asks each live node, on a schedule, for its health
 * (`zos.system.diagnostics`), features (`zos.system.node_features_get`), IPv6
 * (`zos.network.has_ipv6`) and workload count (`zos.statistics.get`).
 */

export interface RmbOptions {
  client: ChainClient;
  relayUrl: string;
  mnemonic: string;
  /** Funds the indexer's account when it has nothing (a dev grid's faucet). */
  activationUrl?: string;
  log: Logger;
  timeoutMs?: number;
}

/** Registers the indexer's twin (T&C, twin with this relay and its e2e key) and connects to the relay. */
export async function connectRmb(o: RmbOptions): Promise<NodeCaller & { close(): Promise<void> }> {
  const identity = await createIdentity(o.mnemonic, 'sr25519');
  const account = o.client.as(identity.pair);
  if (o.activationUrl && (await o.client.query.balance(identity.address)).free === 0n) {
    const res = await fetch(o.activationUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ substrateAccountID: identity.address }) });
    if (!res.ok) throw new Error(`activation service ${o.activationUrl}: ${res.status} ${await res.text()}`);
    const backoff = new Backoff({ initialMs: 100, maxMs: 1000 });
    for (let i = 0; (await o.client.query.balance(identity.address)).free === 0n; i++) {
      if (i > 60) throw new Error(`the indexer account ${identity.address} was not funded by ${o.activationUrl}`);
      await backoff.wait();
    }
  }
  await account.ensureTermsAccepted();
  // The twin names the relay by host name only (tfchain refuses ':'), as zos nodes register it.
  const { twinId } = await account.ensureTwin({ relay: [new URL(o.relayUrl).hostname], pk: identity.secpPublic });
  const peer = new RelayPeer({ identity, twinId, relays: [o.relayUrl], twins: chainTwins(o.client), log: o.log.child({ c: 'rmb' }) });
  await peer.start();
  const timeoutMs = o.timeoutMs ?? 20_000;
  return {
    call: <T>(twin: number, command: string, payload?: unknown) => peer.request<T>(twin, command, payload, { timeoutMs }),
    close: () => peer.close(),
  };
}

export interface PollerOptions {
  sql: Sql;
  rmb: NodeCaller;
  log: Logger;
  /** How often a node is asked again (gridproxy refreshes every few minutes). */
  everyMs?: number;
  /** How often the poller looks for nodes due (new nodes wait at most this long). */
  tickMs?: number;
  /** Nodes asked at the same time. */
  concurrency?: number;
  now?: () => number;
}

type Due = {
  node_id: number;
  twin_id: number;
};

/** Asks every node seen alive in the last 24 h, the oldest answer first, on a schedule. */
export class NodePoller {
  private readonly abort = new AbortController();
  private loop: Promise<void> | null = null;
  private readonly now: () => number;

  constructor(private readonly o: PollerOptions) {
    this.now = o.now ?? (() => Math.floor(Date.now() / 1000));
  }

  start(): void {
    this.loop ??= this.run();
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    const tick = this.o.tickMs ?? 15_000;
    while (!signal.aborted) {
      try {
        await this.pollDue();
      } catch (err) {
        if (!signal.aborted) this.o.log.warn({ err }, 'node poll failed');
      }
      // Its abort listener goes with the pause (one added per tick and kept was a leak: `zos up`
      // warned of 11 listeners on the signal after ~3 min).
      await sleep(tick, undefined, { signal }).catch(() => undefined);
    }
  }

  /** One round: every node due, `concurrency` at a time. */
  async pollDue(): Promise<number> {
    const now = this.now();
    const every = Math.floor((this.o.everyMs ?? 5 * 60_000) / 1000);
    const due = await this.o.sql.all<Due>(
      'SELECT node_id, twin_id FROM nodes WHERE updated_at >= ? AND rmb_checked_at <= ? ORDER BY rmb_checked_at, node_id',
      [now - 24 * 3600, now - every],
    );
    const queue = [...due];
    const worker = async () => {
      for (let d = queue.shift(); d && !this.abort.signal.aborted; d = queue.shift()) await this.pollNode(d);
    };
    await Promise.all(Array.from({ length: Math.min(this.o.concurrency ?? 8, queue.length) }, worker));
    return due.length;
  }

  private async pollNode(d: Due): Promise<void> {
    const twin = Number(d.twin_id);
    const ask = <T>(cmd: string) => this.o.rmb.call<T>(twin, cmd).then((v) => ({ ok: true as const, v }), (err: Error) => ({ ok: false as const, err }));
    const [diag, features, ipv6, stats] = await Promise.all([
      ask<{ healthy?: boolean; system_status_ok?: boolean }>('zos.system.diagnostics'),
      ask<string[]>('zos.system.node_features_get'),
      ask<boolean>('zos.network.has_ipv6'),
      ask<{ users?: { workloads?: number } }>('zos.statistics.get'),
    ]);
    // An unreachable node is unhealthy; what it said before about features and IPv6 stays.
    const healthy = diag.ok && (diag.v.healthy ?? diag.v.system_status_ok) === true;
    if (!diag.ok) this.o.log.debug({ node: d.node_id, err: diag.err.message }, 'node did not answer diagnostics');
    await this.o.sql.transaction((tx) =>
      tx.run(
        `UPDATE nodes SET healthy = ?, rmb_checked_at = ?, features = COALESCE(?, features), has_ipv6 = COALESCE(?, has_ipv6),
           workloads = COALESCE(?, workloads) WHERE node_id = ?`,
        [
          healthy ? 1 : 0,
          this.now(),
          features.ok && Array.isArray(features.v) ? JSON.stringify(features.v.filter((x) => typeof x === 'string')) : null,
          ipv6.ok && typeof ipv6.v === 'boolean' ? (ipv6.v ? 1 : 0) : null,
          stats.ok && typeof stats.v?.users?.workloads === 'number' ? stats.v.users.workloads : null,
          d.node_id,
        ],
      ),
    );
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }
}
