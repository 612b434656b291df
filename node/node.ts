import { readFile, mkdir } from 'node:fs/promises';
import { freemem } from 'node:os';
import { join } from 'node:path';
import { systemClock, type Clock } from '../lib/clock.ts';
import { writeFileDurably } from '../lib/durable.ts';
import type { Logger } from '../lib/log.ts';
import { connectChain, type ChainClient, type NodeEvent } from '../chain/client/index.ts';
import { RelayPeer } from '../relay-client/peer.ts';
import { SqliteReplayBackend } from '../relay-client/replay.ts';
import type { CachedTwinDirectory } from '../rmb/twins.ts';
import { ChainAdapter } from './chain-adapter.ts';
import type { NodeChainEvent } from './chain-port.ts';
import { measureResources, systemReserve } from './capacity.ts';
import { startHosts, type HostOptions } from './host/index.ts';
import type { PublicHost, PublicSetup } from './host/network/index.ts';
import type { PublicConfig } from '../chain/client/types.ts';
import { GeoIp } from './geoip.ts';
import { loadOrCreateIdentity, type Identity } from './identity.ts';
import { Deployments } from './api/deployments.ts';
import { nodeServices } from './api/node-services.ts';
import { routes } from './api/routes.ts';
import { nodeModuleChecks, systemDiagnostics } from './api/diagnostics.ts';
import { NODE_VERSION, nodeFeatures } from './api/system.ts';
import { nodePerf, perfHealthy } from './perf/index.ts';
import { ContractEvents } from './engine/contract-events.ts';
import { Engine } from './engine/engine.ts';
import { Provisioner } from './engine/provisioner.ts';
import { JobQueue } from './engine/queue.ts';
import { EngineDb } from './engine/store-db.ts';
import { DeploymentStore } from './engine/store.ts';
import { primitives } from './primitives/index.ts';
import { gatewayPublicConfig } from './primitives/gateway-name-proxy/routing.ts';
import { invalidNameRoutes } from './primitives/gateway-name-proxy/index.ts';
import { hostLookup } from './host/gateway/resolver.ts';
import { parseWorkloadId } from './model/ids.ts';
import { Registrar } from './registrar.ts';
import { kycCheck } from './kyc.ts';
import { Reporter } from './reports.ts';
import { chainTwins } from './twins.ts';

export interface NodeOptions {
  chainUrls: string[];
  relayUrls: string[];
  farmId: number;
  dataDir: string;
  seed?: string;
  mnemonic?: string;
  activationUrl?: string;
  /** KYC service checked for each deployer on deploy (zos-config kyc); none: no KYC check. */
  kycUrl?: string;
  /** geoip services for the location (zos.location.get, registration); none: zos' error text, "Unknown" on chain. */
  geoipUrls?: string[];
  /** Twins allowed to call zos.debug.* (zos-config admin_twins). */
  adminTwins?: number[];
  storage?: HostOptions['storage'];
  /** Private networks: uplink pool and whether NRs may go out through the node. */
  network?: HostOptions['network'];
  uptimeEveryMs?: number;
  /** How often public traffic (gateways) is reported with add_nru_reports (zos: hourly). */
  nruEveryMs?: number;
  /** The DNS server (`ip:port`) gateway FQDNs are checked against (zos: 8.8.8.8:53). */
  dnsResolver?: string;
  syncEveryMs?: number;
  registrationEveryMs?: number;
  /** The running release (zos.system.version); the OS passes its image's label. Default: the package version. */
  version?: string;
  clock?: Clock;
  log: Logger;
}

/**
 * The node daemon: composes identity, chain, storage, engine, relay peer, registrar and
 * reporters. It opens only outbound connections (chain and relay WebSockets).
 */
export class ZosNode {
  private readonly closers: Array<() => Promise<void>> = [];
  private readonly abort = new AbortController();
  private loops: Promise<void>[] = [];
  identity!: Identity;
  twinId = 0;
  nodeId = 0;
  chain!: ChainClient;
  /** Removes gateway names whose name contract no longer entitles their twin (set once the engine exists). */
  private nameUpkeep: () => Promise<void> = async () => undefined;

  constructor(private readonly o: NodeOptions) {}

  async start(): Promise<{ nodeId: number; twinId: number }> {
    const { o } = this;
    const clock = o.clock ?? systemClock;
    const log = o.log;
    await mkdir(o.dataDir, { recursive: true });
    this.identity = await loadOrCreateIdentity(o.dataDir, { seed: o.seed, mnemonic: o.mnemonic });
    log.info({ account: this.identity.address }, 'node identity');

    // The runtime metadata is kept with the node's state: a restart against the same chain skips fetching it.
    this.chain = connectChain({ urls: o.chainUrls, logger: log.child({ component: 'chain' }), clock, metadataCacheDir: join(o.dataDir, 'chain-metadata') });
    await this.chain.start();
    this.closers.push(() => this.chain.close());
    const account = this.chain.as(this.identity.pair);
    const chain = new ChainAdapter(this.chain, account);

    const hosts = await startHosts({ dataDir: o.dataDir, storage: o.storage, network: o.network, log });
    this.closers.push(() => hosts.close());
    const { storage } = hosts;
    const pools = await storage.poolsInfo();
    const total = measureResources(pools);
    const reserve = systemReserve(total);

    // Relay hosts are published without ports, as rmb-peer does (tfchain rejects ':' in the relay field).
    const relayHosts = o.relayUrls.map((u) => new URL(u).hostname);
    const geoip = new GeoIp(o.geoipUrls ?? []);
    const registrar = new Registrar({
      client: this.chain, host: hosts.system, geoip, account, identity: this.identity, farmId: o.farmId, relays: relayHosts,
      resources: async () => measureResources(await storage.poolsInfo()), activationUrl: o.activationUrl, log,
    });
    ({ twinId: this.twinId, nodeId: this.nodeId } = await registrar.register());
    registrar.start(o.registrationEveryMs ?? 24 * 60 * 60_000, clock);
    this.closers.push(() => registrar.close());
    const nlog = log.child({ node: this.nodeId, twin: this.twinId });
    // Before the engine replays deployments: VMs with a public IP need the public bridge.
    const publicConfig = (await this.chain.query.node(this.nodeId))?.publicConfig ?? null;
    await hosts.public.apply(publicSetup(publicConfig)).catch((err: Error) => nlog.error({ err: err.message }, 'public config not applied'));

    const db = EngineDb.open(join(o.dataDir, 'engine.sqlite'));
    this.closers.push(() => db.close());
    const store = new DeploymentStore(db, { clock });
    const queue = new JobQueue(db, { clock });
    let gatewayBytes: Array<{ id: string; bytes: number }> = [];
    const reporter = new Reporter({
      chain, store, clock, log: nlog.child({ component: 'reports' }), uptimeEveryMs: o.uptimeEveryMs, nruEveryMs: o.nruEveryMs,
      // Gateway bytes stay counted on the host until the chain took them; public taps' are taken as read.
      nruSource: async () => Reporter.perContract([...(gatewayBytes = await hosts.gateway.unreportedTraffic()), ...(await hosts.public.takeTraffic())]),
      nruReported: () => hosts.gateway.trafficReported(gatewayBytes),
    });
    hosts.vm.setFailureHandler((id, message) => markFailed(store, id, message, clock, nlog));
    const gateway = {
      routes: hosts.gateway, networks: hosts.network, nameContract: (name: string) => chain.nameContract(name), lookupHost: hostLookup(o.dnsResolver),
      // What is applied in the public namespace (haproxy runs there), as zos asks networkd.
      publicConfig: async () => gatewayPublicConfig(hosts.public.setup()),
    };
    const contractIps = async (id: number) => (await chain.nodeContract(id))?.publicIpsList ?? [];
    const provisioner = new Provisioner({ primitives: primitives({ ...hosts, gateway, contractIps }), store, clock, log: nlog.child({ component: 'primitives' }) });
    this.nameUpkeep = async () => {
      for (const { id, reason } of await invalidNameRoutes(gateway)) {
        await hosts.gateway.remove(id);
        markFailed(store, id, `workload decommissioned by system, reason: ${reason}`, clock, nlog);
      }
    };
    const engine = new Engine({
      db, store, queue, chain, nodeId: this.nodeId, clock, log: nlog.child({ component: 'engine' }), provisioner,
      capacity: { totalMru: total.mru, reservedMru: reserve.mru, totalSru: total.sru, reservedSru: reserve.sru, availableMemory: freemem },
      onChanged: (k) => reporter.resourcesChanged(k.twin, k.contract),
    });
    this.closers.push(() => engine.close());
    const recovered = await engine.recover();
    nlog.info({ ...recovered, queued: queue.size() }, 'engine recovered');
    engine.start();

    const perf = nodePerf({
      dataDir: o.dataDir, chainUrls: o.chainUrls, relayUrls: o.relayUrls, activationUrl: o.activationUrl, clock,
      workloads: () => store.listActive().reduce((n, d) => n + d.workloads.length, 0), log: nlog.child({ component: 'perf' }),
    });
    // The replay cache is on disk: a request already run must not run again after a restart.
    const twins = chainTwins(this.chain);
    const peer = new RelayPeer({
      identity: this.identity, twinId: this.twinId, relays: o.relayUrls, twins, clock,
      log: nlog.child({ component: 'relay' }), replay: new SqliteReplayBackend(join(o.dataDir, 'replay.sqlite')),
    });
    const api = routes(
      nodeServices({
        deployments: new Deployments({ db, store, queue, chain, provisions: (t) => provisioner.supports(t), kyc: o.kycUrl ? kycCheck(o.kycUrl) : undefined }), store, storage, chain, farmId: o.farmId, total, reserve,
        features: nodeFeatures(provisioner.types()), host: hosts.system, wgPorts: () => hosts.network.wgPorts(),
        geoip, adminTwins: o.adminTwins ?? [],
        networkResource: (twin, name) => hosts.network.list().find((nr) => nr.twin === twin && nr.name === name),
        publicNet: hosts.public,
        perf, version: o.version,
        diagnostics: () =>
          systemDiagnostics(nodeModuleChecks({ chain: this.chain.query, relay: peer, queue, storage, version: o.version ?? NODE_VERSION }), () => perfHealthy(perf)),
      }),
    );
    for (const [command, handler] of Object.entries(api)) peer.handle(command, handler);
    await peer.start();
    this.closers.push(() => peer.close());
    await perf.start();
    this.closers.push(() => perf.close());

    reporter.start();
    this.closers.push(() => reporter.close());
    const contracts = new ContractEvents(store, queue, chain, this.nodeId, nlog.child({ component: 'contracts' }));
    this.loops.push(this.followEvents(contracts, twins, hosts.public, nlog), this.syncLoop(contracts, clock, nlog));
    return { nodeId: this.nodeId, twinId: this.twinId };
  }

  /** Follows finalized blocks from the last processed one (kept in the data dir), so restarts lose no event. */
  private async followEvents(contracts: ContractEvents, twins: CachedTwinDirectory, pub: PublicHost, log: Logger): Promise<void> {
    const file = join(this.o.dataDir, 'events.block');
    const saved = Number.parseInt((await readFile(file, 'utf8').catch(() => '')).trim(), 10);
    const stream = this.chain.events({ after: Number.isFinite(saved) ? saved : 'head', logger: log });
    this.closers.push(() => stream.close());
    try {
      for await (const block of stream) {
        if (block.missed) await this.resync(contracts, block.missed, log);
        for (const ev of block.events) {
          if (ev.kind === 'TwinUpdated') twins.invalidate(ev.twin.id);
          if (ev.kind === 'NameContractCanceled') void this.nameUpkeep().catch((err: Error) => log.warn({ err: err.message }, 'name contract check failed'));
          if (ev.kind === 'NodePublicConfigStored' && ev.nodeId === this.nodeId) {
            await pub.apply(publicSetup(ev.config)).catch((err: Error) => log.error({ err: err.message }, 'public config not applied'));
          }
          const mapped = toNodeEvent(ev);
          if (mapped) contracts.handle(mapped);
        }
        await writeFileDurably(file, `${block.blockNumber}\n`);
      }
    } catch (err) {
      if (!this.abort.signal.aborted) log.error({ err }, 'event stream ended');
    }
  }

  /** Blocks whose events are unknown (state gone): a full contract sync stands in for them, retried until it works. */
  private async resync(contracts: ContractEvents, missed: { from: number; to: number }, log: Logger): Promise<void> {
    const clock = this.o.clock ?? systemClock;
    log.warn(missed, 'chain state of these blocks is gone; full contract sync instead');
    while (!this.abort.signal.aborted) {
      try {
        log.info(await contracts.sync(), 'contract sync after missed blocks');
        return;
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'contract sync failed; retrying');
        await clock.sleep(5_000, this.abort.signal).catch(() => undefined);
      }
    }
  }

  private async syncLoop(contracts: ContractEvents, clock: Clock, log: Logger): Promise<void> {
    const every = this.o.syncEveryMs ?? 60 * 60_000;
    while (!this.abort.signal.aborted) {
      try {
        const r = await contracts.sync();
        if (r.deprovisioned || r.paused || r.resumed) log.info(r, 'contract sync');
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'contract sync failed');
      }
      await this.nameUpkeep().catch((err: Error) => log.warn({ err: err.message }, 'name contract check failed'));
      await clock.sleep(every, this.abort.signal).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    this.abort.abort();
    for (const close of this.closers.reverse()) {
      await close().catch((err: unknown) => this.o.log.warn({ err }, 'close failed'));
    }
    this.closers.length = 0;
    await Promise.allSettled(this.loops);
  }
}

/** The chain's node public config as the host applies it. */
function publicSetup(c: PublicConfig | null): PublicSetup | null {
  return c && { ipv4: c.ip4.ip, gw4: c.ip4.gw, ipv6: c.ip6?.ip ?? null, gw6: c.ip6?.gw ?? null, domain: c.domain };
}

function toNodeEvent(ev: NodeEvent): NodeChainEvent | null {
  switch (ev.kind) {
    case 'NodeContractCanceled':
      return { kind: 'contract-canceled', contractId: ev.contractId, nodeId: ev.nodeId, twinId: ev.twinId };
    case 'ContractGracePeriodStarted':
      return { kind: 'grace-started', contractId: ev.contractId, nodeId: ev.nodeId, twinId: ev.twinId };
    case 'ContractGracePeriodEnded':
      return { kind: 'grace-ended', contractId: ev.contractId, nodeId: ev.nodeId, twinId: ev.twinId };
    case 'PowerTargetChanged':
      return { kind: 'power-target', nodeId: ev.nodeId, target: ev.target };
    default:
      return null;
  }
}

/**
 * A workload that broke after it was provisioned (a VM in a crash loop): its state becomes
 * `error` with the reason, keeping its result data, as zos reports it (it never just vanishes).
 */
function markFailed(store: DeploymentStore, id: string, message: string, clock: Clock, log: Logger): void {
  const ref = parseWorkloadId(id);
  try {
    if (!ref) throw new Error(`bad workload id ${id}`);
    const wl = store.current(ref.twin, ref.contract, ref.name);
    store.appendState(ref.twin, ref.contract, { ...wl, result: { ...wl.result, created: Math.floor(clock.now() / 1000), state: 'error', message } });
  } catch (err) {
    log.error({ workload: id, err: (err as Error).message }, 'cannot record a workload failure');
  }
}
