/**
 * Pure input validation with tfchain's rules and error names. Each check returns
 * the TfgridError to raise, or null when the input is acceptable.
 */
import type { TfgridError } from './errors.ts';

/** Limits as tfchain declares them (BoundedVec bounds and min/max lengths). */
export const LIMITS = {
  relay: 1024,
  pk: 128,
  documentLink: [1, 2048],
  documentHash: [1, 50],
  farmName: [3, 40],
  farmPublicIps: 256,
  city: [1, 58],
  country: [2, 56],
  latitude: [1, 50],
  longitude: [1, 50],
  serialNumber: 128,
  interfaceName: [3, 20],
  interfaceMac: 17,
  interfaceIp: [7, 42],
  interfaces: 10,
  interfaceIps: 10,
  domain: 128,
  timestampHintDrift: 60,
} as const;

export const GIB = 1024 ** 3;

const within = (s: string, [min, max]: readonly [number, number], short: TfgridError, long: TfgridError): TfgridError | null =>
  byteLength(s) < min ? short : byteLength(s) > max ? long : null;

export const byteLength = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Dotted labels of [A-Za-z0-9-_]: no empty label, no leading or trailing dot. */
export const isValidRelay = (relay: string): boolean => /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(relay);

const LINK_CHARS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=]*$/;

export function checkTerms(link: string, hash: string): TfgridError | null {
  return (
    within(link, LIMITS.documentLink, 'DocumentLinkInputTooShort', 'DocumentLinkInputTooLong') ??
    (LINK_CHARS.test(link) ? null : 'InvalidDocumentLinkInput') ??
    within(hash, LIMITS.documentHash, 'DocumentHashInputTooShort', 'DocumentHashInputTooLong') ??
    (/^[A-Za-z0-9_-]*$/.test(hash) ? null : 'InvalidDocumentHashInput')
  );
}

export function checkFarmName(name: string): TfgridError | null {
  return within(name, LIMITS.farmName, 'FarmNameTooShort', 'FarmNameTooLong') ?? (/^[A-Za-z0-9_-]*$/.test(name) ? null : 'InvalidFarmName');
}

// ---- IPv4 ----

/** Dotted-quad IPv4 as an unsigned 32-bit number, or null. */
function parseIp4(s: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  const octets = m.slice(1).map(Number);
  if (octets.some((o) => o > 255)) return null;
  return ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
}

function parseCidr4(s: string): { addr: number; prefix: number } | null {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s);
  if (!m) return null;
  const addr = parseIp4(m[1]!);
  const prefix = Number(m[2]);
  return addr === null || prefix > 32 ? null : { addr, prefix };
}

const mask4 = (prefix: number): number => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);
const in4 = (a: number, net: string): boolean => {
  const c = parseCidr4(net)!;
  return ((a & mask4(c.prefix)) >>> 0) === ((c.addr & mask4(c.prefix)) >>> 0);
};

/** Special-purpose (non-global) IPv4 ranges. */
const NON_PUBLIC_4 = [
  '0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.0.0.0/24',
  '192.0.2.0/24', '192.168.0.0/16', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '240.0.0.0/4',
];
const isPublicIp4 = (a: number): boolean => !NON_PUBLIC_4.some((n) => in4(a, n));
const isUnicastIp4 = (a: number): boolean => !in4(a, '224.0.0.0/4') && a !== 0xffffffff;

/** A public IPv4 CIDR and a public gateway inside it (not the network address). */
export function isValidIp4Config(ip: string, gw: string): boolean {
  const g = parseIp4(gw);
  const c = parseCidr4(ip);
  if (g === null || c === null) return false;
  const network = (c.addr & mask4(c.prefix)) >>> 0;
  return (
    network !== g && isPublicIp4(g) && isUnicastIp4(g) && isPublicIp4(c.addr) && isUnicastIp4(c.addr) &&
    ((g & mask4(c.prefix)) >>> 0) === network
  );
}

// ---- IPv6 ----

/** IPv6 text (with `::` compression and an optional dotted IPv4 tail) as a 128-bit bigint, or null. */
export function parseIp6(s: string): bigint | null {
  if (!/^[0-9A-Fa-f:.]+$/.test(s) || s.split('::').length > 2) return null;
  let text = s;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const a = parseIp4(v4[1]!);
    if (a === null) return null;
    text = text.slice(0, -v4[1]!.length) + `${(a >>> 16).toString(16)}:${(a & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const missing = 8 - h.length - t.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return null;
  const all = [...h, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...t];
  if (all.some((g) => !/^[0-9A-Fa-f]{1,4}$/.test(g))) return null;
  return all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function parseCidr6(s: string): { addr: bigint; prefix: number } | null {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  if (!m) return null;
  const addr = parseIp6(m[1]!);
  const prefix = Number(m[2]);
  return addr === null || prefix > 128 ? null : { addr, prefix };
}

const mask6 = (prefix: number): bigint => (prefix === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - prefix)) - 1n));
const in6 = (a: bigint, net: string): boolean => {
  const c = parseCidr6(net)!;
  return (a & mask6(c.prefix)) === (c.addr & mask6(c.prefix));
};
const NON_PUBLIC_6 = ['::/127', '::ffff:0:0/96', 'fc00::/7', 'fe80::/10', '2001:db8::/32'];
const isPublicIp6 = (a: bigint): boolean => !NON_PUBLIC_6.some((n) => in6(a, n));
const isUnicastIp6 = (a: bigint): boolean => !in6(a, 'ff00::/8');

/** A public IPv6 CIDR and a public gateway inside it, different from the address. */
export function isValidIp6Config(ip: string, gw: string): boolean {
  const g = parseIp6(gw);
  const c = parseCidr6(ip);
  if (g === null || c === null) return false;
  return (
    c.addr !== g && isPublicIp6(g) && isUnicastIp6(g) && isPublicIp6(c.addr) && isUnicastIp6(c.addr) &&
    (g & mask6(c.prefix)) === (c.addr & mask6(c.prefix))
  );
}

export const isValidDomain = (d: string): boolean => byteLength(d) <= LIMITS.domain && /^[A-Za-z0-9.-]*$/.test(d);

// ---- nodes ----

export interface ResourcesInput {
  hru: number;
  sru: number;
  cru: number;
  mru: number;
}

/** No HRU minimum; SRU ≥ 100 GiB, CRU ≥ 1, MRU ≥ 2 GiB. */
export function checkResources(r: ResourcesInput): TfgridError | null {
  if (r.sru < 100 * GIB) return 'InvalidSRUInput';
  if (r.cru < 1) return 'InvalidCRUInput';
  if (r.mru < 2 * GIB) return 'InvalidMRUInput';
  return null;
}

const FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const coordinate = (s: string, limit: number): boolean => s === 'Unknown' || (FLOAT.test(s) && Math.abs(Number(s)) <= limit);

export interface LocationText {
  city: string;
  country: string;
  latitude: string;
  longitude: string;
}

export function checkLocation(l: LocationText): TfgridError | null {
  return (
    within(l.city, LIMITS.city, 'CityNameTooShort', 'CityNameTooLong') ??
    within(l.country, LIMITS.country, 'CountryNameTooShort', 'CountryNameTooLong') ??
    within(l.latitude, LIMITS.latitude, 'LatitudeInputTooShort', 'LatitudeInputTooLong') ??
    (coordinate(l.latitude, 90) ? null : 'InvalidLatitudeInput') ??
    within(l.longitude, LIMITS.longitude, 'LongitudeInputTooShort', 'LongitudeInputTooLong') ??
    (coordinate(l.longitude, 180) ? null : 'InvalidLongitudeInput')
  );
}

export function checkInterface(i: { name: string; mac: string; ips: string[] }): TfgridError | null {
  const nameErr =
    within(i.name, LIMITS.interfaceName, 'InterfaceNameTooShort', 'InterfaceNameTooLong') ??
    (/^[a-z0-9_-]*$/.test(i.name) ? null : 'InvalidInterfaceName');
  if (nameErr) return nameErr;
  const macLen = byteLength(i.mac);
  if (macLen < LIMITS.interfaceMac) return 'InterfaceMacTooShort';
  if (macLen > LIMITS.interfaceMac) return 'InterfaceMacTooLong';
  if (!/^[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}$/.test(i.mac)) return 'InvalidMacAddress';
  if (i.ips.length > LIMITS.interfaceIps) return 'InvalidInterfaceIP';
  for (const ip of i.ips) {
    const err = within(ip, LIMITS.interfaceIp, 'InterfaceIpTooShort', 'InterfaceIpTooLong');
    if (err) return err;
    if (parseIp4(ip) === null && parseIp6(ip) === null) return 'InvalidInterfaceIP';
  }
  return null;
}

/** |hint − now| ≤ drift, in seconds. */
export const isTimestampHintValid = (hint: bigint, nowSeconds: number): boolean =>
  hint >= BigInt(Math.max(0, nowSeconds - LIMITS.timestampHintDrift)) && hint <= BigInt(nowSeconds + LIMITS.timestampHintDrift);
