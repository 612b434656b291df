import { z } from 'zod';
import { formatIPNet, encodeHex } from './goformat.ts';
import { goArray, goHexBytes, goIPNet, goOptional, goString, goStruct, goUint } from './gojson.ts';
import { zeroCapacity, type WorkloadModel } from './model.ts';

export const MYCELIUM_KEY_LEN = 32;

export const peerSchema = goStruct({
  subnet: goIPNet(),
  wireguard_public_key: goString(),
  allowed_ips: goArray(goIPNet()),
  endpoint: goString(),
});
export type Peer = z.infer<typeof peerSchema>;

export const myceliumSchema = goStruct({
  hex_key: goHexBytes(),
  peers: goArray(goString()),
});
export type Mycelium = z.infer<typeof myceliumSchema>;

export const networkSchema = goStruct({
  ip_range: goIPNet(),
  subnet: goIPNet(),
  wireguard_private_key: goString(),
  wireguard_listen_port: goUint(16),
  peers: goArray(peerSchema),
  mycelium: goOptional(myceliumSchema),
});
export type Network = z.infer<typeof networkSchema>;

export function peerChallenge(p: Peer): string {
  return `${p.wireguard_public_key}${p.endpoint}${formatIPNet(p.subnet)}${p.allowed_ips.map(formatIPNet).join('')}`;
}

export function myceliumChallenge(m: Mycelium): string {
  return `${encodeHex(m.hex_key)}${m.peers.join('')}`;
}

/** ip_range, subnet, key, port, then each peer: the part network and network-light share. */
export function wireguardChallenge(d: Omit<Network, 'mycelium'>): string {
  return (
    formatIPNet(d.ip_range) +
    formatIPNet(d.subnet) +
    d.wireguard_private_key +
    `${d.wireguard_listen_port}` +
    d.peers.map(peerChallenge).join('')
  );
}

export function validatePeer(p: Peer): string | undefined {
  if (!p.subnet) return 'peer wireguard subnet cannot empty';
  if (p.allowed_ips.length === 0) return 'peer wireguard allowedIPs cannot empty';
  if (p.wireguard_public_key === '') return 'peer wireguard public key cannot empty';
  return undefined;
}

export function validateMycelium(m: Mycelium): string | undefined {
  if (m.hex_key.length !== MYCELIUM_KEY_LEN) return `invalid mycelium key length, expected ${MYCELIUM_KEY_LEN}`;
  if (m.peers.length !== 0) return 'user defined peers list is not supported right now';
  return undefined;
}

/** A network resource (one node's part of a user wireguard network); result `null`. */
export const network: WorkloadModel<Network> = {
  type: 'network',
  schema: networkSchema,
  challenge: (d) => wireguardChallenge(d) + (d.mycelium ? myceliumChallenge(d.mycelium) : ''),
  capacity: () => zeroCapacity(),
  validate: (d) => {
    if (!d.ip_range) return 'network IP range cannot be empty';
    if (!d.subnet) return 'network resource subnet cannot empty';
    if (d.wireguard_private_key === '') return 'network resource wireguard private key cannot empty';
    for (const p of d.peers) {
      const err = validatePeer(p);
      if (err) return err;
    }
    return d.mycelium ? validateMycelium(d.mycelium) : undefined;
  },
  updatable: true,
  pausable: false,
  sharable: true,
};
