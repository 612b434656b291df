import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurably } from '../../../lib/durable.ts';
import type { Logger } from '../../../lib/log.ts';
import { networkId } from '../../model/ids.ts';
import { containsNet, formatCidr4, gatewayOf, networkOf, overlaps, parseCidr4, formatIPv4, type Cidr4 } from './addr.ts';
import { linkDelete, nftApply, sysctl, tapEnsure, type Netns } from './ip.ts';
import { nodeSalt, nrNames, tapName, type NrNames } from './names.ts';
import { uplinkRuleset } from './nft.ts';
import { buildNr, removeNr, type NrHostEnv, type NrSpec } from './nr.ts';
import { isWireguardGo, runsInNetns } from './wireguard.ts';
import { moveWireguard } from './wg-move.ts';
import { checkWgConfig, type WgInterfaceConfig } from './wgconf.ts';
import { Serial } from '../../../lib/serial.ts';

/** Ports zos never hands to WireGuard: yggdrasil 9943-9945, mycelium 9651, iperf 300, 80, 443, traefik 8082. */
export const PRESET_PORTS = [9943, 9944, 9945, 9651, 300, 80, 443, 8082] as const;

export type NrKind = 'network' | 'network-light';

/** What a primitive asks for: one twin's network on this node. */
export interface NrRequest {
  kind: NrKind;
  twin: number;
  /** The network (workload) name; NetID = networkId(twin, name). */
  name: string;
  workloadId: string;
  subnet: string;
  ipRange: string | null;
  /** Absent for network-light (and network-light without a key). */
  wireguard?: WgInterfaceConfig;
}

/** A stored NR: the request plus what the host allocated for it. */
interface NrRecord extends NrRequest {
  netId: string;
  names: NrNames;
  /** The uplink /30. */
  uplink: string;
  wgPid?: number;
}

/** Where a VM finds a network: see NetworkHost.attachTap. */
export interface NetworkAttachment {
  netId: string;
  kind: NrKind;
  /** The NR namespace (zos `n-<NetID>`). */
  namespace: string;
  /** The bridge in the node's namespace that VM taps join (zos `b-<NetID>`). */
  bridge: string;
  /** The NR subnet, e.g. `10.20.2.0/24`. */
  subnet: string;
  /** The NR gateway (.1), e.g. `10.20.2.1`. */
  gateway: string;
  /** The whole user network, e.g. `10.20.0.0/16` (null for network-light without one). */
  ipRange: string | null;
}

/** One NR as listed by the host. */
export interface NrInfo extends NetworkAttachment {
  twin: number;
  name: string;
  /** The uplink /30 (node side .1, NR side .2). */
  uplink: string;
  wgPid?: number;
  wgInterface?: string;
}

/** What the network primitives need from the host. */
export interface NetworkResources {
  ensure(req: NrRequest): Promise<NetworkAttachment>;
  remove(twin: number, name: string): Promise<void>;
  list(): NrInfo[];
}

/** What VMs need from the host to join a private network (see NetworkHost.attachTap). */
export interface NetworkTaps {
  lookup(twin: number, name: string): NetworkAttachment | undefined;
  attachTap(twin: number, network: string, key: string): Promise<{ tap: string } & NetworkAttachment>;
  detachTap(tap: string): Promise<void>;
}

/** A request the host refuses; the message is the one the user sees. */
export class NetworkInputError extends Error {
  override readonly name = 'NetworkInputError';
}

export interface NetworkHostOptions {
  /** Node state directory; NRs are kept under `<dataDir>` so they can be rebuilt after a reboot. */
  dataDir: string;
  /** The namespace acting as the node's host (tests); undefined = the node's own. */
  hostNs?: Netns;
  /** Pool of uplink /30s (default zos' ndmz range 100.127.0.0/16). */
  uplinkPool?: string;
  /** Whether NRs may go out through the node (NAT, as zos); false keeps them to their WireGuard peers. Default true. */
  egress?: boolean;
  /**
   * The node's public namespace, or null without one: wireguard-go's UDP socket goes there (zos
   * public.NewWireguard), so access peers reach it at the node's public IP. Call follow() when it changes.
   */
  publicNs?: () => string | null;
  log: Logger;
}

/**
 * Network resources on this node: builds, updates and removes them, keeps them in the data dir,
 * adopts the running ones (and their wireguard-go processes) at start, and rebuilds those whose
 * namespace is gone (host reboot). One operation at a time: they share ports and leases.
 */
export class NetworkHost implements NetworkResources, NetworkTaps {
  private readonly nrs = new Map<string, NrRecord>();
  private readonly dir: string;
  private readonly env: NrHostEnv;
  private readonly pool: Cidr4;
  private salt = '';
  private hostReady = false;
  private readonly steps = new Serial();

  constructor(private readonly o: NetworkHostOptions) {
    this.dir = o.dataDir;
    this.env = { hostNs: o.hostNs, runDir: join(o.dataDir, 'run'), log: o.log };
    const pool = parseCidr4(o.uplinkPool ?? '100.127.0.0/16');
    if (!pool) throw new Error(`invalid uplink pool ${o.uplinkPool}`);
    this.pool = pool;
  }

  /** Loads the stored NRs and brings each back: adopted when still running, rebuilt otherwise. */
  start(): Promise<{ adopted: number; rebuilt: number }> {
    return this.steps.run(async () => {
      await mkdir(join(this.dir, 'nrs'), { recursive: true, mode: 0o700 });
      await mkdir(this.env.runDir, { recursive: true, mode: 0o700 });
      this.salt = await nodeSalt(this.dir);
      for (const f of await readdir(join(this.dir, 'nrs'))) {
        if (!f.endsWith('.json')) continue;
        const rec = JSON.parse(await readFile(join(this.dir, 'nrs', f), 'utf8')) as NrRecord;
        this.nrs.set(rec.netId, rec);
      }
      let adopted = 0;
      let rebuilt = 0;
      for (const rec of this.nrs.values()) {
        await this.prepareHost();
        const before = rec.wgPid;
        await this.build(rec).catch((err: Error) => {
          this.o.log.error({ network: rec.workloadId, err: err.message }, 'could not bring network resource back');
        });
        if (rec.wgPid === before) adopted++;
        else rebuilt++;
        await this.save(rec);
      }
      if (this.nrs.size) this.o.log.info({ adopted, rebuilt }, 'network resources restored');
      return { adopted, rebuilt };
    });
  }

  /** Host-wide settings, made only once a node really runs an NR (a node without networks leaves the host alone). */
  private async prepareHost(): Promise<void> {
    if (this.hostReady) return;
    const egress = this.o.egress ?? true;
    // Without egress nothing is routed by the node's namespace: wireguard-go's socket is local and its TUN sits in the NR.
    if (egress) await sysctl(this.o.hostNs, { 'net.ipv4.ip_forward': 1 }, { log: this.o.log });
    await nftApply(this.o.hostNs, uplinkRuleset(formatCidr4(this.pool), 'u-*', egress), { log: this.o.log });
    this.hostReady = true;
  }

  /** Where wireguard-go's socket belongs now: the public namespace while there is one, else the node's. */
  private socketNs(): Netns {
    return this.o.publicNs?.() ?? this.o.hostNs;
  }

  /**
   * Builds (or completes) the NR of `rec` and records its wireguard-go. One that runs in another
   * namespace than socketNs() (the public namespace came or went, also while the node was down;
   * read from the process, so a restart adopts it where it is) is replaced there: a socket cannot
   * move (wireguard-go binds in its own process's namespace; its UAPI changes the port, never the
   * namespace): see wg-move.ts.
   */
  private async build(rec: NrRecord): Promise<void> {
    const socketNs = this.socketNs();
    const live = rec.wgPid !== undefined && rec.wireguard && (await isWireguardGo(rec.wgPid, rec.names.wg));
    if (live && !(await runsInNetns(rec.wgPid!, socketNs))) {
      const names = { ...rec.names, wg: this.otherWg(rec) };
      rec.wgPid = await moveWireguard(this.spec(rec, names, rec.wireguard, socketNs), { iface: rec.names.wg, pid: rec.wgPid! }, this.env);
      rec.names = names;
      return;
    }
    // One about to be started must not meet a leftover of a move cut short (same port, same namespace).
    if (!live && rec.wireguard) await linkDelete(rec.names.ns, this.otherWg(rec), { log: this.o.log }).catch(() => undefined);
    rec.wgPid = await buildNr(this.spec(rec, rec.names, rec.wireguard, socketNs), this.env, rec.wgPid);
  }

  private spec(rec: NrRecord, names: NrNames, wireguard: WgInterfaceConfig | undefined, socketNs: Netns): NrSpec {
    return {
      netId: rec.netId, names, subnet: parseCidr4(rec.subnet)!, ipRange: rec.ipRange ? parseCidr4(rec.ipRange) : null,
      uplink: parseCidr4(rec.uplink)!, wireguard, socketNs, ipv6: rec.kind === 'network',
    };
  }

  /** The interface name an NR's wireguard-go does not use now: each move alternates between two. */
  private otherWg(rec: NrRecord): string {
    const first = nrNames(this.salt, rec.netId).wg;
    return rec.names.wg === first ? `${first.slice(0, -1)}_` : first;
  }

  /** Moves every NR's wireguard-go to where its socket belongs now (call after the public namespace changed). */
  follow(): Promise<void> {
    return this.steps.run(async () => {
      const socketNs = this.socketNs();
      for (const rec of this.nrs.values()) {
        if (rec.wgPid === undefined || (await runsInNetns(rec.wgPid, socketNs))) continue;
        await this.build(rec).catch((err: Error) => this.o.log.error({ network: rec.workloadId, err: err.message }, 'could not move wireguard-go after the public namespace changed'));
        await this.save(rec);
      }
    });
  }

  private async save(rec: NrRecord): Promise<void> {
    await writeFileDurably(join(this.dir, 'nrs', `${rec.netId}.json`), JSON.stringify(rec), 0o600);
  }

  /** Ports reserved on this node: zos' presets and every NR's WireGuard port (list_wg_ports). */
  wgPorts(): number[] {
    return [...PRESET_PORTS, ...[...this.nrs.values()].flatMap((r) => (r.wireguard ? [r.wireguard.listenPort] : []))];
  }

  private check(req: NrRequest, netId: string): { subnet: Cidr4; ipRange: Cidr4 | null } {
    const subnet = parseCidr4(req.subnet);
    if (!subnet) throw new NetworkInputError(`network resource subnet must be an IPv4 network, got '${req.subnet}'`);
    const ipRange = req.ipRange ? parseCidr4(req.ipRange) : null;
    if (req.ipRange && !ipRange) throw new NetworkInputError(`network IP range must be an IPv4 network, got '${req.ipRange}'`);
    if (ipRange && !containsNet(ipRange, subnet)) {
      throw new NetworkInputError(`network resource subnet ${req.subnet} is not inside the network IP range ${req.ipRange}`);
    }
    if (subnet.prefix > 30) throw new NetworkInputError(`network resource subnet ${req.subnet} is too small`);
    const wg = req.wireguard;
    if (!wg) return { subnet, ipRange };
    const bad = checkWgConfig(wg);
    if (bad) throw new NetworkInputError(`failed to configure network resource: failed to configure wireguard interface: ${bad}`);
    for (const p of wg.peers) {
      for (const a of p.allowedIps) {
        const net = parseCidr4(a);
        if (net && overlaps(net, subnet)) {
          throw new NetworkInputError(`peer ${p.publicKey} allowed ip ${a} overlaps the network resource subnet ${req.subnet}`);
        }
      }
    }
    const taken = new Set<number>(PRESET_PORTS);
    for (const r of this.nrs.values()) if (r.netId !== netId && r.wireguard) taken.add(r.wireguard.listenPort);
    if (taken.has(wg.listenPort)) {
      throw new NetworkInputError(`wireguard listen port already in use, pick another one: port ${wg.listenPort} is already in the set`);
    }
    return { subnet, ipRange };
  }

  private leaseUplink(): string {
    const used = new Set([...this.nrs.values()].map((r) => r.uplink));
    const base = networkOf(this.pool);
    const count = 2 ** (32 - this.pool.prefix) / 4;
    for (let i = 1; i < count; i++) {
      const cidr = `${formatIPv4(base + 4 * i)}/30`;
      if (!used.has(cidr)) return cidr;
    }
    throw new Error('no free uplink address left on this node');
  }

  /**
   * Creates or updates the NR of (twin, name). An update with the same subnet and range only
   * re-syncs WireGuard (peers added/removed/changed live); other changes rebuild it. On a
   * failed create nothing is left behind; a failed update keeps the previous NR.
   */
  ensure(req: NrRequest): Promise<NetworkAttachment> {
    return this.steps.run(async () => {
      const netId = networkId(req.twin, req.name);
      this.check(req, netId);
      const previous = this.nrs.get(netId);
      await this.prepareHost();
      const rec: NrRecord = {
        ...req, netId, names: previous?.names ?? nrNames(this.salt, netId), uplink: previous?.uplink ?? this.leaseUplink(), wgPid: previous?.wgPid,
      };
      if (previous && (previous.subnet !== rec.subnet || previous.ipRange !== rec.ipRange || previous.kind !== rec.kind)) {
        await removeNr(previous.names, this.env, previous.wgPid);
        rec.wgPid = undefined;
      }
      this.nrs.set(netId, rec);
      try {
        await this.build(rec);
      } catch (err) {
        if (previous) {
          this.nrs.set(netId, previous);
          previous.wgPid = rec.wgPid;
          await this.build(previous).catch(() => (previous.wgPid = undefined));
          await this.save(previous);
        } else {
          await removeNr(rec.names, this.env, rec.wgPid).catch(() => undefined);
          this.nrs.delete(netId);
        }
        throw err;
      }
      await this.save(rec);
      return this.attachment(rec);
    });
  }

  /** Removes the NR of (twin, name) and everything it held on the host. Unknown is fine. */
  remove(twin: number, name: string): Promise<void> {
    return this.steps.run(async () => {
      const netId = networkId(twin, name);
      const rec = this.nrs.get(netId);
      if (!rec) return;
      await removeNr(rec.names, this.env, rec.wgPid);
      this.nrs.delete(netId);
      await rm(join(this.dir, 'nrs', `${netId}.json`), { force: true });
    });
  }

  private attachment(rec: NrRecord): NetworkAttachment {
    const subnet = parseCidr4(rec.subnet)!;
    return {
      netId: rec.netId, kind: rec.kind, namespace: rec.names.ns, bridge: rec.names.bridge, subnet: formatCidr4({ ip: networkOf(subnet), prefix: subnet.prefix }),
      gateway: formatIPv4(gatewayOf(subnet).ip), ipRange: rec.ipRange,
    };
  }

  /** The NR of a twin's network on this node, by network name. */
  lookup(twin: number, name: string): NetworkAttachment | undefined {
    const rec = this.nrs.get(networkId(twin, name));
    return rec && this.attachment(rec);
  }

  /** Every NR on this node (for tests and diagnostics). */
  list(): NrInfo[] {
    return [...this.nrs.values()].map((r) => ({
      ...this.attachment(r), twin: r.twin, name: r.name, wgPid: r.wgPid, wgInterface: r.wireguard ? r.names.wg : undefined, uplink: r.uplink,
    }));
  }

  /**
   * How a VM attaches to a private network: `attachTap(twin, network, key)` creates (or keeps)
   * the tap `t-<hash(key)>` in the node's namespace on the NR bridge, up. Pass a key unique per
   * VM NIC (zos uses `Unique(network)` of the VM workload). QEMU then opens it with
   * `-netdev tap,id=..,ifname=<tap>,script=no,downscript=no` (in the node's namespace); the
   * guest takes an address in `subnet` (not .1) with gateway `gateway`, and routes `ipRange`
   * and 100.64.0.0/16 via `gateway`. `detachTap(tap)` when the VM goes.
   */
  async attachTap(twin: number, network: string, key: string): Promise<{ tap: string } & NetworkAttachment> {
    const nr = this.lookup(twin, network);
    if (!nr) throw new Error(`could not get network resource subnet: couldn't load network with id (${networkId(twin, network)}): no such network`);
    const tap = tapName(this.salt, key);
    await tapEnsure(this.o.hostNs, tap, nr.bridge, { log: this.o.log });
    return { tap, ...nr };
  }

  async detachTap(tap: string): Promise<void> {
    await linkDelete(this.o.hostNs, tap, { log: this.o.log });
  }
}

/**
 * Removes every NR stored under `dataDir` (wireguard-go, namespace, links) without a running
 * node: for whoever stops a node for good (`zos up`, test grids), as NRs outlive a node restart.
 */
export async function removeStoredNetworks(dataDir: string, log: Logger): Promise<void> {
  const files = await readdir(join(dataDir, 'nrs')).catch((): string[] => []);
  for (const f of files.filter((x) => x.endsWith('.json'))) {
    const rec = JSON.parse(await readFile(join(dataDir, 'nrs', f), 'utf8')) as NrRecord;
    await removeNr(rec.names, { hostNs: undefined, runDir: join(dataDir, 'run'), log }, rec.wgPid);
    await rm(join(dataDir, 'nrs', f), { force: true });
  }
}

/** The namespace of the NR `twin`/`name` stored under `dataDir`, or null when it has none: for `zos up`, which runs the node. */
export async function storedNetworkNamespace(dataDir: string, twin: number, name: string): Promise<string | null> {
  const text = await readFile(join(dataDir, 'nrs', `${networkId(twin, name)}.json`), 'utf8').catch(() => null);
  return text === null ? null : ((JSON.parse(text) as NrRecord).names.ns ?? null);
}
