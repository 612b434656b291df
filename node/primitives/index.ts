import type { ImageNode } from '../../image/index.ts';
import type { DiskStore, VolumeStore } from '../host/storage/types.ts';
import type { NetworkResources, NetworkTaps, PublicHost } from '../host/network/index.ts';
import type { VmHost } from '../host/vm/host.ts';
import type { PrimitiveRegistry } from './types.ts';
import { gatewayFqdnPrimitive } from './gateway-fqdn-proxy/index.ts';
import { gatewayNamePrimitive } from './gateway-name-proxy/index.ts';
import type { GatewayServices } from './gateway-name-proxy/routing.ts';
import { ipPrimitive, type PublicIpHosts } from './ip/index.ts';
import { ipv4Primitive } from './ipv4/index.ts';
import { networkPrimitive } from './network/index.ts';
import { networkLightPrimitive } from './network-light/index.ts';
import { volumePrimitive } from './volume/index.ts';
import { zlogsPrimitive } from './zlogs/index.ts';
import { zmachinePrimitive } from './zmachine/index.ts';
import { zmachineLightPrimitive } from './zmachine-light/index.ts';
import { zmountPrimitive } from './zmount/index.ts';

/** The host services primitives are built with, as interfaces (node/host/index.ts provides them). */
export interface PrimitiveHosts {
  storage: DiskStore & VolumeStore;
  network: NetworkResources & NetworkTaps;
  images: () => Promise<ImageNode>;
  vm: VmHost;
  /** The proxy on the host plus what gateways check on chain and in DNS. */
  gateway: GatewayServices;
  public: PublicHost;
  /** The farm IPs a contract reserved on chain (for ip workloads). */
  contractIps: PublicIpHosts['contractIps'];
}

/** The workload types this node provisions, keyed by zos type name; what is absent is refused at deploy. */
export function primitives(hosts: PrimitiveHosts): PrimitiveRegistry {
  const machines = { vm: hosts.vm, images: hosts.images, network: hosts.network, storage: hosts.storage };
  return {
    zmount: zmountPrimitive(hosts.storage),
    volume: volumePrimitive(hosts.storage),
    network: networkPrimitive(hosts.network),
    'network-light': networkLightPrimitive(hosts.network),
    zmachine: zmachinePrimitive({ ...machines, public: hosts.public, publicGw6: () => hosts.public.setup()?.gw6 ?? '' }),
    'zmachine-light': zmachineLightPrimitive(machines),
    ipv4: ipv4Primitive({ public: hosts.public, contractIps: hosts.contractIps }),
    ip: ipPrimitive({ public: hosts.public, contractIps: hosts.contractIps }),
    'gateway-name-proxy': gatewayNamePrimitive(hosts.gateway),
    'gateway-fqdn-proxy': gatewayFqdnPrimitive(hosts.gateway),
    zlogs: zlogsPrimitive(hosts.vm),
  };
}
