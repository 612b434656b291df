// Private networks on the host: network resources (namespace, bridge, uplink, nftables,
// wireguard-go) and the taps VMs use to join them. Primitives use NetworkHost only.
export { NetworkHost, NetworkInputError, removeStoredNetworks, storedNetworkNamespace, PRESET_PORTS, type NetworkAttachment, type NetworkResources, type NetworkTaps, type NrInfo, type NetworkHostOptions, type NrKind, type NrRequest } from './host.ts';
export { convert4to6, parseCidr4, formatCidr4, wgIpOf, type Cidr4 } from './addr.ts';
export { parseWgKey, type WgInterfaceConfig, type WgPeerConfig } from './wgconf.ts';
export { PublicHost, NO_PUBLIC_CONFIG, removeStoredPublic, type PublicSetup, type PublicPin, type LivePublic, type PublicHostOptions } from './public.ts';
export type { ExitDevice } from './public-nic.ts';
