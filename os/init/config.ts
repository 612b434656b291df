/**
 * Boot configuration, from the kernel command line only. The kernel hands every `key=value`
 * parameter it does not know (and whose key has no dot) to init as an environment variable, so
 * init reads them before it has mounted /proc or run any program.
 *
 *   zos_root=blake3:<hex>      digest of the root image manifest (required: verified boot)
 *   zos_farm=<id>              farm to register in
 *   zos_chain=<url>[,<url>]    tfchain WebSocket URL(s)
 *   zos_relay=<url>[,<url>]    RMB relay URL(s)
 *   zos_activation=<url>       optional activation (funding) service
 *   zos_net=dhcp | static:<addr/len>,<gateway>[,<dns>]   (default dhcp)
 *   zos_cache=<device>         cache disk (default: the first virtio disk)
 *   zos_pool_size=<size>       sparse storage pool image on the cache disk (default 128G)
 *   zos_log=<level>            daemon log level on the console (default warn)
 *   zos_hub=<url>              image store that releases are pulled from (none: no upgrades)
 *   zos_release_check=<s>      seconds between checks of the release on chain (default 600)
 *   zos_slot=a|b               set by init itself when it boots a release from a cache disk slot
 */
import { isSlotName, type SlotName } from '../layout.ts';

export type NetConfig = { mode: 'dhcp' } | { mode: 'static'; address: string; prefix: number; gateway: string; dns: string[] };

export interface BootConfig {
  root: string;
  farm: number;
  chain: string[];
  relay: string[];
  activation?: string;
  net: NetConfig;
  cache?: string;
  poolSize: string;
  logLevel: string;
  hub?: string;
  releaseCheckS: number;
  slot?: SlotName;
}

export class BootConfigError extends Error {
  override readonly name = 'BootConfigError';
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const isIpv4 = (s: string) => IPV4.test(s) && s.split('.').every((p) => Number(p) <= 255);

function urls(env: Record<string, string | undefined>, key: string): string[] {
  const list = (env[key] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw new BootConfigError(`${key}= is missing from the kernel command line`);
  for (const u of list) if (!/^wss?:\/\/[^/\s]+/.test(u)) throw new BootConfigError(`${key}: "${u}" is not a ws:// or wss:// URL`);
  return list;
}

export function parseNet(v: string | undefined): NetConfig {
  if (v === undefined || v === '' || v === 'dhcp') return { mode: 'dhcp' };
  const m = /^static:([\d.]+)\/(\d{1,2}),([\d.]+)(?:,([\d.]+))?$/.exec(v);
  if (!m || !isIpv4(m[1]!) || !isIpv4(m[3]!) || (m[4] && !isIpv4(m[4])) || Number(m[2]) > 32) {
    throw new BootConfigError(`zos_net: "${v}" is not dhcp or static:<addr>/<len>,<gateway>[,<dns>]`);
  }
  return { mode: 'static', address: m[1]!, prefix: Number(m[2]), gateway: m[3]!, dns: m[4] ? [m[4]] : [] };
}

export function parseBootConfig(env: Record<string, string | undefined>): BootConfig {
  const root = /^blake3:([0-9a-f]{64})$/.exec(env.zos_root ?? '');
  if (!root) throw new BootConfigError('zos_root=blake3:<hex> is missing from the kernel command line: nothing to verify the root against');
  const farm = Number(env.zos_farm);
  if (!Number.isSafeInteger(farm) || farm <= 0) throw new BootConfigError(`zos_farm: "${env.zos_farm ?? ''}" is not a farm id`);
  const hub = env.zos_hub;
  if (hub !== undefined && !/^https?:\/\/[^/\s]+/.test(hub)) throw new BootConfigError(`zos_hub: "${hub}" is not an http:// or https:// URL`);
  const releaseCheckS = Number(env.zos_release_check ?? 600);
  if (!Number.isSafeInteger(releaseCheckS) || releaseCheckS < 1) throw new BootConfigError(`zos_release_check: "${env.zos_release_check}" is not a number of seconds`);
  if (env.zos_slot !== undefined && !isSlotName(env.zos_slot)) throw new BootConfigError(`zos_slot: "${env.zos_slot}" is not a or b`);
  const cache = env.zos_cache;
  if (cache !== undefined && !/^\/dev\/[\w/-]+$/.test(cache)) throw new BootConfigError(`zos_cache: "${cache}" is not a /dev path`);
  return {
    root: root[1]!, farm, chain: urls(env, 'zos_chain'), relay: urls(env, 'zos_relay'),
    ...(env.zos_activation ? { activation: env.zos_activation } : {}),
    net: parseNet(env.zos_net), ...(cache ? { cache } : {}),
    poolSize: env.zos_pool_size ?? '128G', logLevel: env.zos_log ?? 'warn',
    ...(hub ? { hub } : {}), releaseCheckS, ...(env.zos_slot ? { slot: env.zos_slot as SlotName } : {}),
  };
}

/** The command-line words for a config (what `zos os run` passes). */
export function formatBootConfig(c: BootConfig): string[] {
  const net = c.net.mode === 'dhcp' ? 'dhcp' : `static:${c.net.address}/${c.net.prefix},${c.net.gateway}${c.net.dns[0] ? `,${c.net.dns[0]}` : ''}`;
  return [
    `zos_root=blake3:${c.root}`, `zos_farm=${c.farm}`, `zos_chain=${c.chain.join(',')}`, `zos_relay=${c.relay.join(',')}`,
    ...(c.activation ? [`zos_activation=${c.activation}`] : []), `zos_net=${net}`, ...(c.cache ? [`zos_cache=${c.cache}`] : []),
    `zos_pool_size=${c.poolSize}`, `zos_log=${c.logLevel}`, ...(c.hub ? [`zos_hub=${c.hub}`] : []),
    `zos_release_check=${c.releaseCheckS}`, ...(c.slot ? [`zos_slot=${c.slot}`] : []),
  ];
}
