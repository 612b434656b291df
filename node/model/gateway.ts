// GatewayBase shared by the name and fqdn proxies: backend syntax checks with zos' error texts
// (Go net.SplitHostPort / url.Parse semantics, wrapped the way zos wraps them).
import { ipTo4, parseIP, type GoIP } from './goformat.ts';
import { goArray, goBool, goOptional, goString } from './gojson.ts';

export const gatewayBaseFields = {
  tls_passthrough: goBool(),
  backends: goArray(goString()),
  network: goOptional(goString()),
};

export interface GatewayBase {
  tls_passthrough: boolean;
  backends: string[];
  network?: string | undefined;
}

export function gatewayBaseChallenge(d: GatewayBase): string {
  return `${d.tls_passthrough}${d.backends.join('')}${d.network ?? ''}`;
}

/** Go net.SplitHostPort; returns the AddrError text on failure. */
export function splitHostPort(hostport: string): { host: string; port: string } | string {
  const fail = (why: string) => `address ${hostport}: ${why}`;
  const i = hostport.lastIndexOf(':');
  if (i < 0) return fail('missing port in address');
  let host: string;
  let j = 0;
  let k = 0;
  if (hostport[0] === '[') {
    const end = hostport.indexOf(']');
    if (end < 0) return fail("missing ']' in address");
    if (end + 1 === hostport.length) return fail('missing port in address');
    if (end + 1 !== i) return fail(hostport[end + 1] === ':' ? 'too many colons in address' : 'missing port in address');
    host = hostport.slice(1, end);
    j = 1;
    k = end + 1;
  } else {
    host = hostport.slice(0, i);
    if (host.includes(':')) return fail('too many colons in address');
  }
  if (hostport.slice(j).includes('[')) return fail("unexpected '[' in address");
  if (hostport.slice(k).includes(']')) return fail("unexpected ']' in address");
  return { host, port: hostport.slice(i + 1) };
}

function isLoopback(ip: GoIP): boolean {
  const v4 = ipTo4(ip);
  if (v4) return v4[0] === 127;
  return ip.every((b, idx) => (idx === 15 ? b === 1 : b === 0));
}

/** The parts of Go's url.Parse that backend validation looks at. */
function parseHttpUrl(raw: string): { scheme: string; hostname: string } | string {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):(.*)$/s.exec(raw);
  if (!m) {
    const firstSegment = raw.split('/')[0]!;
    if (firstSegment.includes(':')) return `parse "${raw}": first path segment in URL cannot contain colon`;
    return { scheme: '', hostname: '' };
  }
  const scheme = m[1]!.toLowerCase();
  const rest = m[2]!;
  if (!rest.startsWith('//')) return { scheme, hostname: '' };
  let authority = rest.slice(2).split(/[/?#]/)[0]!;
  authority = authority.slice(authority.lastIndexOf('@') + 1);
  let hostname = authority;
  let port = '';
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    if (end < 0) return `parse "${raw}": missing ']' in host`;
    hostname = authority.slice(1, end);
    port = authority.slice(end + 1);
  } else {
    const c = authority.lastIndexOf(':');
    if (c >= 0) {
      hostname = authority.slice(0, c);
      port = authority.slice(c);
    }
  }
  if (port !== '' && !/^:[0-9]*$/.test(port)) return `parse "${raw}": invalid port "${port}" after host`;
  return { scheme, hostname };
}

function asIpPort(b: string): string | undefined {
  const hp = splitHostPort(b);
  if (typeof hp === 'string') return `failed to parse backend ${b} with error: ${hp}`;
  if (!parseIP(hp.host)) return 'invalid ip';
  if (!/^[0-9]+$/.test(hp.port) || hp.port.length > 20) return `invalid port in backend: ${hp.port}`;
  if (Number(hp.port) > 65535) return `port '${hp.port}' must be <= 65535`;
  return undefined;
}

/** zos Backend.Valid: `ip:port` with TLS passthrough, else `http://ip[:port]` not on loopback. */
export function validateBackend(b: string, tlsPassthrough: boolean): string | undefined {
  if (tlsPassthrough) {
    const err = asIpPort(b);
    return err ? `failed to parse backend ${b} with error: ${err}` : undefined;
  }
  const u = parseHttpUrl(b);
  if (typeof u === 'string') return `failed to parse backend with error: ${u}`;
  if (u.scheme !== 'http') return 'scheme expected to be http';
  const ip = parseIP(u.hostname);
  if (!ip || isLoopback(ip)) return `invalid ip address in backend: ${u.hostname}`;
  return undefined;
}

export function validateGatewayBase(d: GatewayBase): string | undefined {
  if (d.backends.length === 0) return 'backends list can not be empty';
  for (const b of d.backends) {
    const err = validateBackend(b, d.tls_passthrough);
    if (err) return `failed to validate backend '${b}': ${err}`;
  }
  return undefined;
}
