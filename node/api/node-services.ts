import type { StorageHost } from '../host/storage/index.ts';
import { listeningSockets } from '../host/sockets.ts';
import type { DeploymentStore } from '../engine/store.ts';
import type { NodeChain } from '../chain-port.ts';
import type { Resources } from '../capacity.ts';
import { addCapacity, type Capacity } from '../model/model.ts';
import type { HostSystem } from '../host/system/index.ts';
import type { NrInfo } from '../host/network/index.ts';
import { hasIpv6, listPrivateIps, listPublicIps } from './network.ts';
import type { ApiServices, Counters, DeploymentService, Statistics } from './services.ts';
import type { GeoIp } from '../geoip.ts';
import type { PerfMonitor } from '../perf/monitor.ts';
import { debugAnswers } from './debug.ts';
import type { Diagnostics } from './diagnostics.ts';
import { gpuList } from './gpu.ts';
import { adminInterfaceList, networkInterfaces, publicConfigAnswer, type PublicNet } from './network-answers.ts';
import { systemDmi, systemHypervisor, systemVersion } from './system.ts';

export interface NodeServicesOptions {
  deployments: DeploymentService;
  store: DeploymentStore;
  storage: StorageHost;
  chain: NodeChain;
  farmId: number;
  total: Resources;
  reserve: Capacity;
  /** Workload types this node runs. */
  features: string[];
  /** The host's own facts (DMI, hypervisor, interfaces, connections, GPUs). */
  host: HostSystem;
  /** The node's public namespace and exit NIC (public_config_get, has_ipv6, admin get/set_public_nic). */
  publicNet: PublicNet;
  geoip: GeoIp;
  /** Twins allowed to call zos.debug.* (zos-config admin_twins). */
  adminTwins: readonly number[];
  /** A twin's network resource on this node, for zos.debug.* (undefined: none). */
  networkResource: (twin: number, name: string) => NrInfo | undefined;
  /** Reserved WireGuard ports (presets and every NR's port). */
  wgPorts: () => number[];
  /** zos.system.diagnostics: the node's module checks and health verdict. */
  diagnostics: () => Promise<Diagnostics>;
  /** Stored results of the node's periodic checks. */
  perf: Pick<PerfMonitor, 'get' | 'getAll'>;
  /** The running release for zos.system.version (the OS image's label); default: the package version. */
  version?: string;
}

const counters = (c: { cru: number; sru: number; hru: number; mru: number; ipv4u?: number }): Counters => ({
  cru: c.cru,
  sru: c.sru,
  hru: c.hru,
  mru: c.mru,
  ipv4u: c.ipv4u ?? 0,
});

/** The node-side answers of the zos API besides deployments. */
export function nodeServices(o: NodeServicesOptions): ApiServices {
  return {
    deployments: o.deployments,
    async statistics(): Promise<Statistics> {
      const used = addCapacity(o.store.usedCapacity(), o.reserve);
      const active = o.store.listActive();
      return {
        total: counters(o.total),
        used: counters(used),
        system: counters(o.reserve),
        users: {
          deployments: active.length,
          workloads: active.reduce((n, d) => n + d.workloads.length, 0),
          last_deployment_timestamp: Math.max(0, ...active.flatMap((d) => d.workloads.map((w) => w.result.created))),
        },
        open_connections: await o.host.openConnections(),
      };
    },
    storagePools: () => o.storage.poolsInfo(),
    system: {
      version: () => systemVersion(o.host, o.version),
      dmi: () => systemDmi(o.host),
      hypervisor: () => systemHypervisor(o.host),
      // Besides zos' fields: every socket open to inbound traffic in the node's namespace (for the OS, the whole machine).
      diagnostics: async () => ({ ...(await o.diagnostics()), listening_sockets: await listeningSockets() }),
      features: () => o.features,
    },
    network: {
      listWgPorts: () => o.wgPorts(),
      publicConfig: () => publicConfigAnswer(o.publicNet),
      interfaces: () => networkInterfaces(o.host),
      hasIpv6: () => hasIpv6(o.publicNet.setup()),
      listPublicIps: () => listPublicIps(o.store),
      listPrivateIps: (twin, network) => listPrivateIps(o.store, twin, network),
    },
    gpuList: () => gpuList(o.host, o.store),
    perf: { get: (name) => o.perf.get(name), getAll: () => o.perf.getAll() },
    location: () => o.geoip.location(),
    debug: { ...debugAnswers(o.store, { nr: o.networkResource, host: o.host }), isAdmin: (twin) => o.adminTwins.includes(twin) },
    admin: {
      isFarmer: async (twin) => (await o.chain.farmTwinId(o.farmId)) === twin,
      interfaces: () => adminInterfaceList(o.host),
      getPublicNic: () => o.publicNet.exitDevice(),
      setPublicNic: async (iface) => {
        await o.publicNet.setExitNic(iface);
        return null;
      },
    },
  };
}
