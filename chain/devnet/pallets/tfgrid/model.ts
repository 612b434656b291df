/**
 * Plain TypeScript views of pallet_tfgrid storage values and their conversion
 * to and from polkadot-js codecs. Byte strings that tfchain fills with ASCII/UTF-8
 * text (names, IPs, relay...) are strings here; binary ones (pk, signatures) are 0x hex.
 */
import type { Codec } from '@polkadot/types/types';
import { hexToU8a, stringToU8a, u8aToHex, u8aToString } from '@polkadot/util';

export type Hex = `0x${string}`;

/** UTF-8 text of a SCALE byte string given as hex (toJSON form). */
export const textOf = (hex: string): string => u8aToString(hexToU8a(hex));
/** Hex of a text's UTF-8 bytes: polkadot-js reads a Uint8Array as *encoded* Bytes, a hex string as the content. */
export const bytesOf = (text: string): Hex => u8aToHex(stringToU8a(text));
const optText = (hex: string | null): string | null => (hex === null ? null : textOf(hex));
const optBytes = (text: string | null): Hex | null => (text === null ? null : bytesOf(text));

export type NodeCertificationName = 'Diy' | 'Certified';
export type FarmCertificationName = 'NotCertified' | 'Gold';
export type PowerName = 'Up' | 'Down';
export type PowerStateValue = 'Up' | { Down: number };

export interface TwinInfo {
  id: number;
  /** 0x hex AccountId32. */
  accountId: Hex;
  relay: string | null;
  entities: Array<{ entityId: number; signature: Hex }>;
  pk: Hex | null;
}

export interface PublicIpInfo {
  ip: string;
  gateway: string;
  /** 0 when free, else the contract holding it. */
  contractId: number;
}

export interface FarmingPolicyLimitInfo {
  farmingPolicyId: number;
  cu: number | null;
  su: number | null;
  end: number | null;
  nodeCount: number | null;
  nodeCertification: boolean;
}

export interface FarmInfo {
  version: number;
  id: number;
  name: string;
  twinId: number;
  pricingPolicyId: number;
  certification: FarmCertificationName;
  publicIps: PublicIpInfo[];
  dedicatedFarm: boolean;
  farmingPolicyLimits: FarmingPolicyLimitInfo | null;
}

export interface ResourcesInfo {
  hru: number;
  sru: number;
  cru: number;
  mru: number;
}

export interface LocationInfo {
  city: string;
  country: string;
  latitude: string;
  longitude: string;
}

export interface InterfaceInfo {
  name: string;
  mac: string;
  ips: string[];
}

export interface PublicConfigInfo {
  ip4: { ip: string; gw: string };
  ip6: { ip: string; gw: string } | null;
  domain: string | null;
}

export interface NodeInfo {
  version: number;
  id: number;
  farmId: number;
  twinId: number;
  resources: ResourcesInfo;
  location: LocationInfo;
  publicConfig: PublicConfigInfo | null;
  /** Unix seconds. */
  created: number;
  farmingPolicyId: number;
  interfaces: InterfaceInfo[];
  certification: NodeCertificationName;
  secureBoot: boolean;
  virtualized: boolean;
  serialNumber: string | null;
  connectionPrice: number;
}

export interface NodePowerInfo {
  state: PowerStateValue;
  target: PowerName;
}

export interface FarmingPolicyInfo {
  version: number;
  id: number;
  name: string;
  cu: number;
  su: number;
  nu: number;
  ipv4: number;
  minimalUptime: number;
  policyCreated: number;
  policyEnd: number;
  immutable: boolean;
  default: boolean;
  nodeCertification: NodeCertificationName;
  farmCertification: FarmCertificationName;
}

export type UnitName = 'Bytes' | 'Kilobytes' | 'Megabytes' | 'Gigabytes' | 'Terrabytes';
export interface PolicyInfo {
  value: number;
  unit: UnitName;
}

export interface PricingPolicyInfo {
  version: number;
  id: number;
  name: string;
  su: PolicyInfo;
  cu: PolicyInfo;
  nu: PolicyInfo;
  ipu: PolicyInfo;
  uniqueName: PolicyInfo;
  domainName: PolicyInfo;
  foundationAccount: Hex;
  certifiedSalesAccount: Hex;
  discountForDedicationNodes: number;
}

export interface TermsAndConditionsInfo {
  accountId: Hex;
  timestamp: number;
  documentLink: string;
  documentHash: string;
}

// ---- codec -> view ----

const hexField = (codec: Codec, key: string): Hex => ((codec as any)[key] as Codec).toHex() as Hex;

export function twinFromCodec(c: Codec): TwinInfo {
  const j = c.toJSON() as any;
  return { id: j.id, accountId: hexField(c, 'accountId'), relay: optText(j.relay), entities: j.entities, pk: j.pk };
}

export function farmFromCodec(c: Codec): FarmInfo {
  const j = c.toJSON() as any;
  return {
    ...j,
    name: textOf(j.name),
    publicIps: j.publicIps.map((p: any) => ({ ip: textOf(p.ip), gateway: textOf(p.gateway), contractId: p.contractId })),
  };
}

const pubConfigFromJson = (p: any): PublicConfigInfo | null =>
  p === null
    ? null
    : {
        ip4: { ip: textOf(p.ip4.ip), gw: textOf(p.ip4.gw) },
        ip6: p.ip6 === null ? null : { ip: textOf(p.ip6.ip), gw: textOf(p.ip6.gw) },
        domain: optText(p.domain),
      };

export function nodeFromCodec(c: Codec): NodeInfo {
  const j = c.toJSON() as any;
  const l = j.location;
  return {
    ...j,
    location: { city: textOf(l.city), country: textOf(l.country), latitude: textOf(l.latitude), longitude: textOf(l.longitude) },
    publicConfig: pubConfigFromJson(j.publicConfig),
    interfaces: j.interfaces.map((i: any) => ({ name: textOf(i.name), mac: textOf(i.mac), ips: i.ips.map(textOf) })),
    serialNumber: optText(j.serialNumber),
  };
}

export function nodePowerFromCodec(c: Codec): NodePowerInfo {
  const j = c.toJSON() as any;
  return { state: 'down' in j.state ? { Down: j.state.down } : 'Up', target: j.target };
}

export function farmingPolicyFromCodec(c: Codec): FarmingPolicyInfo {
  const j = c.toJSON() as any;
  return { ...j, name: textOf(j.name) };
}

export function pricingPolicyFromCodec(c: Codec): PricingPolicyInfo {
  const j = c.toJSON() as any;
  return {
    ...j,
    name: textOf(j.name),
    foundationAccount: hexField(c, 'foundationAccount'),
    certifiedSalesAccount: hexField(c, 'certifiedSalesAccount'),
  };
}

export function termsFromCodec(c: Codec): TermsAndConditionsInfo {
  const j = c.toJSON() as any;
  return { accountId: hexField(c, 'accountId'), timestamp: j.timestamp, documentLink: textOf(j.documentLink), documentHash: textOf(j.documentHash) };
}

// ---- view -> createType input ----

export const twinToInput = (t: TwinInfo) => ({ ...t, relay: optBytes(t.relay) });

export const farmToInput = (f: FarmInfo) => ({
  ...f,
  name: bytesOf(f.name),
  publicIps: f.publicIps.map((p) => ({ ip: bytesOf(p.ip), gateway: bytesOf(p.gateway), contractId: p.contractId })),
});

export const publicConfigToInput = (p: PublicConfigInfo | null) =>
  p === null
    ? null
    : {
        ip4: { ip: bytesOf(p.ip4.ip), gw: bytesOf(p.ip4.gw) },
        ip6: p.ip6 === null ? null : { ip: bytesOf(p.ip6.ip), gw: bytesOf(p.ip6.gw) },
        domain: optBytes(p.domain),
      };

export const nodeToInput = (n: NodeInfo) => ({
  ...n,
  location: {
    city: bytesOf(n.location.city),
    country: bytesOf(n.location.country),
    latitude: bytesOf(n.location.latitude),
    longitude: bytesOf(n.location.longitude),
  },
  publicConfig: publicConfigToInput(n.publicConfig),
  interfaces: n.interfaces.map((i) => ({ name: bytesOf(i.name), mac: bytesOf(i.mac), ips: i.ips.map(bytesOf) })),
  serialNumber: optBytes(n.serialNumber),
});

export const farmingPolicyToInput = (p: FarmingPolicyInfo) => ({ ...p, name: bytesOf(p.name) });
export const pricingPolicyToInput = (p: PricingPolicyInfo) => ({ ...p, name: bytesOf(p.name) });
export const termsToInput = (t: TermsAndConditionsInfo) => ({
  ...t,
  documentLink: bytesOf(t.documentLink),
  documentHash: bytesOf(t.documentHash),
});
