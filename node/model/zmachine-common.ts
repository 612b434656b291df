// Parts shared by zmachine and zmachine-light: they differ only in the network block.
import { formatIP, encodeHex, type GoIP } from './goformat.ts';
import { goArray, goBool, goHexBytes, goIP, goString, goStringMap, goStruct, goUint } from './gojson.ts';
import { GiB, MiB, type Capacity } from './model.ts';

export const MYCELIUM_IP_SEED_LEN = 6;
export const MIN_MEMORY = 250 * MiB;
const RESERVED_NETWORKS = ['ygg', 'pub', 'mycelium'];

export const interfaceSchema = goStruct({ network: goString(), ip: goIP() });
/** The mycelium `Network` field has no JSON tag in zos, so its key is `Network` (matched case-insensitively). */
export const myceliumIPSchema = goStruct({ Network: goString(), hex_seed: goHexBytes() });
export const computeCapacitySchema = goStruct({ cpu: goUint(8), memory: goUint(64) });
export const mountSchema = goStruct({ name: goString(), mountpoint: goString() });

/** Every machine field except `network`, which differs between zmachine and zmachine-light. */
export const machineFields = {
  flist: goString(),
  size: goUint(64),
  compute_capacity: computeCapacitySchema,
  mounts: goArray(mountSchema),
  entrypoint: goString(),
  env: goStringMap(),
  corex: goBool(),
  gpu: goArray(goString()),
};

/** The fields zmachine and zmachine-light share, as validated. */
export interface MachineBase {
  flist: string;
  size: number;
  compute_capacity: { cpu: number; memory: number };
  mounts: { name: string; mountpoint: string }[];
  entrypoint: string;
  env: Record<string, string>;
  gpu: string[];
}

interface MachineInterface {
  network: string;
  ip: GoIP | null;
}

/** zos MinRootSize: 2 GiB once cpu*memory reaches one "compute unit" (8 GiB), else 500 MiB. */
export function minRootSize(cpu: number, memory: number): number {
  // BigInt keeps cpu*memory exact beyond 2^53.
  return BigInt(cpu) * BigInt(memory) / BigInt(8 * GiB) === 0n ? 500 * MiB : 2 * GiB;
}

export function machineCapacity(d: MachineBase): Capacity {
  const min = minRootSize(d.compute_capacity.cpu, d.compute_capacity.memory);
  return { cru: d.compute_capacity.cpu, mru: d.compute_capacity.memory, sru: Math.max(d.size, min), hru: 0, ipv4u: 0 };
}

interface MachineNetworkBase {
  interfaces: MachineInterface[];
  mycelium?: { Network: string; hex_seed: Uint8Array } | undefined;
}

/** Per interface `network, ip`, then mycelium `Network, %x seed` if set. */
function networkTailChallenge(n: MachineNetworkBase): string {
  const ifs = n.interfaces.map((i) => `${i.network}${formatIP(i.ip)}`).join('');
  return ifs + (n.mycelium ? `${n.mycelium.Network}${encodeHex(n.mycelium.hex_seed)}` : '');
}

/** Bytewise key order, like Go's sort.Strings (not localeCompare, not UTF-16 order). */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * flist; `networkHead` (zmachine: public_ip, planetary); interfaces and mycelium; size, cpu,
 * memory, mounts, entrypoint, env sorted by key, gpus. corex is not hashed.
 */
export function machineChallenge(d: MachineBase & { network: MachineNetworkBase }, networkHead: string): string {
  return d.flist + networkHead + networkTailChallenge(d.network) + tailChallenge(d);
}

function tailChallenge(d: MachineBase): string {
  const env = Object.keys(d.env)
    .sort(byteOrder)
    .map((k) => `${k}=${d.env[k]}`)
    .join('');
  return (
    `${d.size}${d.compute_capacity.cpu}${d.compute_capacity.memory}` +
    d.mounts.map((m) => `${m.name}${m.mountpoint}`).join('') +
    d.entrypoint +
    env +
    d.gpu.join('')
  );
}

/** zos' checks in order; `publicIP` (zmachine only) runs between the size and network-name checks. */
export function validateMachine(
  d: MachineBase & { network: MachineNetworkBase },
  publicIP: () => string | undefined = () => undefined,
): string | undefined {
  const ifs = d.network.interfaces;
  return validateHead(d, ifs) ?? publicIP() ?? validateTail(ifs, d.network.mycelium);
}

function validateHead(d: MachineBase, ifs: readonly MachineInterface[]): string | undefined {
  if (ifs.length !== 1) return 'only one network private network is supported at the moment';
  if (ifs.some((i) => !i.ip)) return 'invalid IP';
  if (d.compute_capacity.cpu === 0) return "cpu capacity can't be 0";
  if (d.compute_capacity.memory < MIN_MEMORY) return "mem capacity can't be less that 250M";
  const min = minRootSize(d.compute_capacity.cpu, d.compute_capacity.memory);
  if (d.size !== 0 && d.size < min) return `disk size can't be less that ${min}. Set to 0 for minimum`;
  return undefined;
}

function validateTail(ifs: readonly MachineInterface[], mycelium: { hex_seed: Uint8Array } | undefined): string | undefined {
  for (const i of ifs) {
    if (RESERVED_NETWORKS.includes(i.network)) return `'${i.network}' is reserved network name`;
  }
  if (mycelium && mycelium.hex_seed.length !== MYCELIUM_IP_SEED_LEN) {
    return 'invalid mycelium seed length expected 6 bytes';
  }
  return undefined;
}

/** A GPU id `<slot>/<vendor>/<device>`; zos checks the format at provision time, not in Valid. */
export function gpuParts(g: string): { slot: string; vendor: string; device: string } | string {
  const parts = g.split('/');
  if (parts.length !== 3) return `invalid GPU id format '${g}'`;
  return { slot: parts[0]!, vendor: parts[1]!, device: parts[2]! };
}
