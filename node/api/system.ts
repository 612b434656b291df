import { readFileSync } from 'node:fs';
import { repoPath } from '../../lib/paths.ts';
import type { HostSystem } from '../host/system/index.ts';
import type { Dmi } from '../host/system/dmi.ts';

/** The version in package.json: the one version of this node's code. */
export const NODE_VERSION: string = (JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string }).version;

/**
 * `zos.system.version`: {zos, zinit}; zinit carries the exec error text where there is no zinit, as in zos.
 * `release` is the OS image's release label when the node runs as the OS.
 */
export async function systemVersion(host: HostSystem, release = NODE_VERSION): Promise<{ zos: string; zinit: string }> {
  return { zos: release, zinit: await host.zinitVersion() };
}

/** `zos.system.dmi`: the host's DMI in zos' shape, or zos' error text where the host has none. */
export function systemDmi(host: HostSystem): Promise<Dmi> {
  return host.dmi();
}

/** `zos.system.hypervisor`: the outermost hypervisor, "" on bare metal. */
export function systemHypervisor(host: HostSystem): Promise<string> {
  return host.hypervisor();
}

/**
 * `zos.system.node_features_get`: the workload types this node provisions plus the network
 * capabilities zos lists beside them. `wireguard` comes with the `network` type (its NRs are
 * WireGuard meshes); grid_client reads it to choose a full Network (zos3) over NetworkLight.
 */
export function nodeFeatures(types: readonly string[]): string[] {
  return types.includes('network') ? [...types, 'wireguard'] : [...types];
}
