import { readFileSync } from 'node:fs';
import { repoPath } from '../../lib/paths.ts';
import type { HostSystem } from '../host/system/index.ts';
import type { Dmi } from '../host/system/dmi.ts';

/** The version in package.json: the one version of this node's code. */
export const NODE_VERSION: string = (JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string }).version;

/** `zos.system.version`: {zos, zinit}; zinit carries the exec error text where there is no zinit, as in zos. */
export async function systemVersion(host: HostSystem): Promise<{ zos: string; zinit: string }> {
  return { zos: NODE_VERSION, zinit: await host.zinitVersion() };
}

/** `zos.system.dmi`: the host's DMI in zos' shape, or zos' error text where the host has none. */
export function systemDmi(host: HostSystem): Promise<Dmi> {
  return host.dmi();
}

/** `zos.system.hypervisor`: the outermost hypervisor, "" on bare metal. */
export function systemHypervisor(host: HostSystem): Promise<string> {
  return host.hypervisor();
}
