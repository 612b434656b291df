// Go formatting rules the deployment challenge depends on: net.ParseIP / net.IP.String(),
// net.ParseCIDR / IPNet.String() and encoding/hex. The challenge is hashed byte for byte, so
// these follow the Go semantics (IPv4-mapped addresses print dotted, IPv6 zero runs compress).

/** A parsed IP: always 16 bytes like Go's ParseIP (IPv4 is stored IPv4-mapped). */
export type GoIP = Uint8Array;

/** net.IPNet as produced by gridtypes.ParseIPNet: the IP is kept unmasked. */
export interface GoIPNet {
  ip: GoIP;
  /** Prefix length in bits of `mask`. */
  prefix: number;
  /** 4 for an IPv4 literal, 16 for an IPv6 literal (including ::ffff:a.b.c.d). */
  maskLen: 4 | 16;
}

function parseIPv4Bytes(s: string): number[] | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    // Go (since 1.17) rejects leading zeros because they are ambiguous (octal).
    if (!/^[0-9]{1,3}$/.test(p) || (p.length > 1 && p[0] === '0')) return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

function parseIPv6Bytes(s: string): Uint8Array | null {
  const ip = new Uint8Array(16);
  let ellipsis = -1;
  let i = 0;
  let rest = s;
  if (rest.startsWith('::')) {
    ellipsis = 0;
    rest = rest.slice(2);
    if (rest === '') return ip;
  }
  while (i < 16) {
    const m = /^[0-9a-fA-F]{1,4}/.exec(rest);
    if (!m) return null;
    // An embedded IPv4 address may only fill the last 32 bits.
    const dot = rest.search(/[.:]|$/);
    if (rest[dot] === '.') {
      if (ellipsis < 0 && i !== 12) return null;
      if (i + 4 > 16) return null;
      const v4 = parseIPv4Bytes(rest);
      if (!v4) return null;
      ip.set(v4, i);
      i += 4;
      rest = '';
      break;
    }
    const group = m[0];
    if (/^[0-9a-fA-F]/.test(rest.slice(group.length))) return null; // more than 4 hex digits
    const v = parseInt(group, 16);
    ip[i] = v >> 8;
    ip[i + 1] = v & 0xff;
    i += 2;
    rest = rest.slice(group.length);
    if (rest === '') break;
    if (rest[0] !== ':') return null;
    rest = rest.slice(1);
    if (rest[0] === ':') {
      if (ellipsis >= 0) return null;
      ellipsis = i;
      rest = rest.slice(1);
      if (rest === '') break;
    } else if (rest === '') {
      return null; // trailing single colon
    }
  }
  if (rest !== '') return null;
  if (i < 16) {
    if (ellipsis < 0) return null;
    const n = 16 - i;
    for (let j = i - 1; j >= ellipsis; j--) ip[j + n] = ip[j];
    ip.fill(0, ellipsis, ellipsis + n);
  } else if (ellipsis >= 0) {
    return null; // "::" must stand for at least one zero group
  }
  return ip;
}

function mapped(v4: number[]): GoIP {
  const ip = new Uint8Array(16);
  ip[10] = 0xff;
  ip[11] = 0xff;
  ip.set(v4, 12);
  return ip;
}

/** Go net.ParseIP: returns null for anything Go would reject (zones, leading zeros, ...). */
export function parseIP(s: string): GoIP | null {
  if (s.includes('.') && !s.includes(':')) {
    const v4 = parseIPv4Bytes(s);
    return v4 ? mapped(v4) : null;
  }
  if (!s.includes(':')) return null;
  return parseIPv6Bytes(s);
}

/** Go net.IP.To4(): the 4 IPv4 bytes when the address is IPv4(-mapped), else null. */
export function ipTo4(ip: GoIP): Uint8Array | null {
  if (ip.length === 4) return ip;
  if (ip.length !== 16) return null;
  for (let i = 0; i < 10; i++) if (ip[i] !== 0) return null;
  if (ip[10] !== 0xff || ip[11] !== 0xff) return null;
  return ip.subarray(12);
}

/** Go net.IP.String(); null/empty prints `<nil>`. */
export function formatIP(ip: GoIP | null | undefined): string {
  if (!ip || ip.length === 0) return '<nil>';
  const v4 = ipTo4(ip);
  if (v4) return Array.from(v4).join('.');
  if (ip.length !== 16) return '?' + encodeHex(ip);
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((ip[2 * i]! << 8) | ip[2 * i + 1]!);
  // Longest run of >= 2 zero groups; the first one wins a tie (RFC 5952).
  let zs = -1;
  let ze = -1;
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i >= 2 && j - i > ze - zs) {
      zs = i;
      ze = j;
    }
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === zs) {
      out += '::';
      i = ze;
      if (i >= 8) break;
    } else if (i > 0) {
      out += ':';
    }
    out += groups[i]!.toString(16);
  }
  return out;
}

/** gridtypes.ParseIPNet: net.ParseCIDR, keeping the given (unmasked) IP. */
export function parseIPNet(s: string): GoIPNet | null {
  const slash = s.indexOf('/');
  if (slash < 0) return null;
  const addr = s.slice(0, slash);
  const len = s.slice(slash + 1);
  if (!/^[0-9]+$/.test(len) || len.length > 3) return null;
  const prefix = Number(len);
  const isV4Literal = addr.includes('.') && !addr.includes(':');
  const ip = parseIP(addr);
  if (!ip) return null;
  const maskLen = isV4Literal ? 4 : 16;
  if (prefix > maskLen * 8) return null;
  return { ip, prefix, maskLen };
}

/** Go IPNet.String(); null prints `<nil>`. An IPv4-mapped IP with a 16-byte mask keeps only the mask's last 32 bits. */
export function formatIPNet(n: GoIPNet | null | undefined): string {
  if (!n) return '<nil>';
  const v4 = ipTo4(n.ip);
  if (v4) {
    const bits = n.maskLen === 4 ? n.prefix : Math.max(0, Math.min(32, n.prefix - 96));
    return `${formatIP(v4)}/${bits}`;
  }
  if (n.maskLen === 4) return '<nil>'; // Go cannot pair an IPv6 address with an IPv4 mask
  return `${formatIP(n.ip)}/${n.prefix}`;
}

/** encoding/hex.EncodeToString: bare lowercase hex (the chain client's toHex is 0x-prefixed). */
export function encodeHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** encoding/hex.DecodeString with Go's error texts; returns the error string on failure. */
export function decodeHex(s: string): Uint8Array | string {
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (!/[0-9a-fA-F]/.test(c)) {
      const cp = s.codePointAt(i)!;
      return `encoding/hex: invalid byte: U+${cp.toString(16).toUpperCase().padStart(4, '0')} ${JSON.stringify(String.fromCodePoint(cp)).replace(/^"|"$/g, "'")}`;
    }
  }
  if (s.length % 2 !== 0) return 'encoding/hex: odd length hex string';
  return new Uint8Array(Buffer.from(s, 'hex'));
}
