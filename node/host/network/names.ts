// Host object names of network resources. zos names them `n-<NetID>`, `b-<NetID>`, ...; NetID
// depends only on (twin, network name), so two nodes on one host (tests, `zos up`, the lab)
// would collide on namespace names and on the host-wide wireguard-go socket directory. Names
// here hash a per-node salt with the NetID instead, keeping zos' prefixes and the 15-char limit.
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurably } from '../../../lib/durable.ts';
import { base58 } from '@scure/base';

const HASH_LEN = 13; // prefix (2) + 13 = 15 = IFNAMSIZ - 1

function hashed(salt: string, key: string): string {
  return base58.encode(createHash('md5').update(`${salt}:${key}`, 'utf8').digest()).slice(0, HASH_LEN);
}

/** Names of one network resource on the host (and inside its namespace). */
export interface NrNames {
  /** The network namespace (zos `n-<NetID>`). */
  ns: string;
  /** Host bridge that VM taps join (zos `b-<NetID>`). */
  bridge: string;
  /** Host end of the veth whose NR end (`private`) holds the subnet's .1. */
  bridgePort: string;
  /** Host end of the uplink veth whose NR end is `public`. */
  uplink: string;
  /** WireGuard interface: created in the host namespace (socket stays there), moved into the NR. */
  wg: string;
}

/** Interface names inside every NR namespace (they need not be unique on the host). */
export const NR_PRIVATE_IF = 'private';
export const NR_PUBLIC_IF = 'public';

export function nrNames(salt: string, netId: string): NrNames {
  const h = hashed(salt, netId);
  return { ns: `n-${h}`, bridge: `b-${h}`, bridgePort: `v-${h}`, uplink: `u-${h}`, wg: `w-${h}` };
}

/** A VM tap on an NR bridge; `key` identifies the NIC (e.g. zos `Unique(network)` of the VM). */
export function tapName(salt: string, key: string): string {
  return `t-${hashed(salt, key)}`;
}

/** The node's salt for host object names, kept in `<dir>/salt` (made once, random). */
export async function nodeSalt(dir: string): Promise<string> {
  const file = join(dir, 'salt');
  const saved = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (saved) return saved;
  const salt = randomBytes(8).toString('hex');
  await writeFileDurably(file, `${salt}\n`);
  return salt;
}

/** Names of the node's public setup (zos: namespace `public`, bridge `br-pub`, macvlan `public`). */
export interface PublicNames {
  /** The public network namespace (zos `public`). */
  ns: string;
  /** The host bridge wired to the exit NIC; VM public taps and the public macvlan hang on it (zos `br-pub`). */
  bridge: string;
  /** The macvlan on the bridge, made here and moved into `ns` as `public`. */
  staging: string;
  /** Single-NIC mode: the veth pair from the bridge (`single`) to the uplink bridge (`singlePeer`); zos `tozos`. */
  single: string;
  singlePeer: string;
}

/** The interface inside the public namespace that holds the node's public addresses (zos `public`). */
export const PUBLIC_IF = 'public';

export function publicNames(salt: string): PublicNames {
  const h = hashed(salt, 'public');
  return { ns: `pub-${h}`, bridge: `bp${h}`, staging: `pm${h}`, single: `tz${h}`, singlePeer: `tu${h}` };
}

/** A VM's public tap on the public bridge; `key` is zos' `Unique("pub")` of the ip workload. */
export function pubTapName(salt: string, key: string): string {
  return `p-${hashed(salt, key)}`;
}
