// haproxy configuration of the node's web gateway, rendered as text (pure: no I/O). zos runs
// traefik with one file per gateway workload; here one haproxy serves every route and is
// reloaded as a whole when routes change (proxy.ts), so the routes are rendered together; ACME
// answers and certificates change at run time over its admin socket (certificateSteps).
//
// What zos' traefik does, and so this config: every request on :80 is redirected to https (its
// `web` entrypoint redirects to `web-secure`, permanent: 301 for GET, 308 otherwise), except
// ACME HTTP-01 challenges (/.well-known/acme-challenge/, answered before the redirect). :443 routes
// by SNI: a passthrough name's TLS stream goes to its backends untouched; everything else is
// terminated here (the name's certificate, or the default one while it has none) and proxied as
// HTTP by Host, like traefik's `web-secure` routers.

/** One gateway workload as the proxy serves it. */
export interface ProxyRoute {
  /** The workload id (`twin-contract-name`); it names the haproxy backend. */
  id: string;
  /** Which workload type made it (each type's init drops only its own unowned routes). */
  kind: string;
  /** The host name clients ask for (Host header, or TLS SNI with passthrough). */
  fqdn: string;
  /** Forward the TLS stream untouched, routed by SNI (zos `tls_passthrough`); else HTTP by Host. */
  tlsPassthrough: boolean;
  /** Backend addresses `ip:port` (IPv6 as `[ip]:port`). */
  servers: string[];
  /**
   * The network namespace the proxy opens backend connections in: the owner's network resource
   * when the workload names a network (zos runs nnc there), none for the proxy's own namespace.
   */
  namespace?: string;
}

export interface ProxyConfigOptions {
  /** Bumped on every render; `show info` reports it as the description, so a reload can be confirmed. */
  generation: number;
  /** The admin socket (stats and counters). */
  statsSocket: string;
  /** haproxy bind addresses of the HTTP entrypoint, e.g. `:80`. */
  httpBinds: string[];
  /** haproxy bind addresses of the TLS entrypoint, e.g. `:443`. */
  tlsBinds: string[];
  /**
   * Where the :443 frontend hands TLS it terminates (an abstract socket name, unique per haproxy
   * instance: abstract sockets are per network namespace).
   */
  terminator: string;
  /** PEM file (certificate chain and key) served for SNI matching no name, or no SNI. */
  defaultCertificate: string;
  /**
   * The crt-list of the names' PEM files, read at load; haproxy adds a certificate to it at run
   * time (`add ssl crt-list`), which a bind's own `crt` files cannot take.
   */
  certificateList: string;
  /**
   * The map file of pending ACME HTTP-01 answers (challengeMapText), read at load and changed in
   * the running haproxy over the admin socket, so that a challenge never needs a reload.
   */
  challengeMap: string;
}

/** A workload id as an haproxy proxy name (letters, digits, `-_.:` only; zos ids already fit). */
export function backendName(id: string): string {
  return `gw-${id.replace(/[^A-Za-z0-9_.:-]/g, (c) => `%${c.charCodeAt(0).toString(16)}`)}`;
}

/** `ip:port` / `[ip6]:port` in haproxy's address syntax (`ipv6@` keeps the port after the last colon). */
function serverAddress(addr: string): string {
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(addr);
  return v6 ? `ipv6@${v6[1]}:${v6[2]}` : `ipv4@${addr}`;
}

/** The generation a rendered config carries (see ProxyConfigOptions.generation). */
const generationTag = (generation: number) => `zos-gateway-${generation}`;

/** The generation the running worker serves, from `show info`. */
export function servedGeneration(info: string): number | undefined {
  const m = /^description: zos-gateway-(\d+)$/m.exec(info);
  return m ? Number(m[1]) : undefined;
}

/** 404 for a Host no route serves, with traefik's text (what a zos gateway answers). */
const NOT_FOUND = 'zos-no-route';
/** The TCP hop from the :443 frontend to the TLS-terminating one. */
const TERMINATE = 'zos-tls-terminate';
const CHALLENGE_PATH = '/.well-known/acme-challenge/';
/** An ACME token is base64url (RFC 8555 §8.3); anything else never reaches the config. */
const TOKEN = /^[A-Za-z0-9_-]+$/;
const KEY_AUTHORIZATION = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** The Location traefik's scheme redirect gives: https, the Host without its port, the request URI. */
const HTTPS_LOCATION = '"https://%[req.hdr(host),regsub(:[0-9]+\\$,)]%[capture.req.uri]"';

/** Whether an HTTP-01 answer is well-formed (anything else never reaches haproxy). */
export function validChallenge(token: string, keyAuthorization: string): boolean {
  return TOKEN.test(token) && KEY_AUTHORIZATION.test(keyAuthorization);
}

/** The challenge map's text: `token keyAuthorization` a line, well-formed ones only. */
export function challengeMapText(challenges: Iterable<[token: string, keyAuthorization: string]>): string {
  return [...challenges].filter(([t, k]) => validChallenge(t, k)).sort(([a], [b]) => a.localeCompare(b)).map(([t, k]) => `${t} ${k}\n`).join('');
}

/** One admin socket command and how haproxy answers when it did it. */
export interface AdminStep {
  command: string;
  ok: RegExp;
}

/**
 * The admin socket commands (haproxy 2.6) that make the running haproxy serve `pem` from `file`:
 * a new certificate is made, filled, committed and added to the crt-list `list`; a loaded one is
 * replaced in one transaction; with no `pem` a loaded one leaves the list and memory. The PEM goes
 * as the command's payload, which an empty line ends: it is sent without its empty lines.
 */
export function certificateSteps(file: string, list: string, pem: string | undefined, loaded: boolean): AdminStep[] {
  if (pem === undefined) {
    return loaded ? [{ command: `del ssl crt-list ${list} ${file}`, ok: /deleted in crtlist/ }, { command: `del ssl cert ${file}`, ok: /deleted!/ }] : [];
  }
  const payload = pem.split('\n').filter((l) => l.trim() !== '').join('\n');
  return [
    ...(loaded ? [] : [{ command: `new ssl cert ${file}`, ok: /^New empty certificate store/ }]),
    { command: `set ssl cert ${file} <<\n${payload}\n`, ok: /^Transaction (created|updated) for certificate/ },
    { command: `commit ssl cert ${file}`, ok: /\nSuccess!/ },
    ...(loaded ? [] : [{ command: `add ssl crt-list ${list} ${file}`, ok: /\nSuccess!/ }]),
  ];
}

export function renderProxyConfig(routes: readonly ProxyRoute[], o: ProxyConfigOptions): string {
  const http = [...routes].filter((r) => !r.tlsPassthrough).sort((a, b) => a.id.localeCompare(b.id));
  const tls = [...routes].filter((r) => r.tlsPassthrough).sort((a, b) => a.id.localeCompare(b.id));
  const lines: string[] = [
    'global',
    `  stats socket ${o.statsSocket} mode 600 level admin expose-fd listeners`,
    // Failed requests and connections only (dontlog-normal; raised to err, the only level
    // logged), one line each with haproxy's termination state (e.g. `SC--`: the server refused),
    // on stderr: the node's haproxy.log.
    '  log stderr format short local0 err',
    `  description ${generationTag(o.generation)}`,
    // Workers of an older generation finish their connections, but not forever.
    '  hard-stop-after 60s',
    '',
    'defaults',
    '  log global',
    '  option dontlog-normal',
    '  option log-separate-errors',
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    '  timeout tunnel 1h',
    '',
    'frontend web',
    '  mode http',
    '  option httplog',
    ...o.httpBinds.map((b) => `  bind ${b}`),
    // The token is the path's last segment; the answer is its key authorisation in the map, if there.
    `  http-request return status 200 content-type "text/plain; charset=utf-8" lf-string "%[path,field(4,/),map(${o.challengeMap})]" if { path_reg '^/[.]well-known/acme-challenge/[A-Za-z0-9_-]+$' } { path,field(4,/),map(${o.challengeMap}) -m found }`,
    `  http-request return status 404 content-type "text/plain; charset=utf-8" string "404 page not found" if { path_beg ${CHALLENGE_PATH} }`,
    `  http-request return status 301 content-type "text/plain; charset=utf-8" string "Moved Permanently" hdr location ${HTTPS_LOCATION} if METH_GET`,
    `  http-request return status 308 content-type "text/plain; charset=utf-8" string "Permanent Redirect" hdr location ${HTTPS_LOCATION}`,
    '',
    'frontend web-secure',
    '  mode tcp',
    '  option tcplog',
    ...o.tlsBinds.map((b) => `  bind ${b}`),
    '  tcp-request inspect-delay 5s',
    '  tcp-request content accept if { req.ssl_hello_type 1 }',
    ...tls.map((r) => `  use_backend ${backendName(r.id)} if { req.ssl_sni,lower -m str ${r.fqdn.toLowerCase()} }`),
    `  default_backend ${TERMINATE}`,
    '',
    `backend ${TERMINATE}`,
    '  mode tcp',
    // The PROXY header carries the client's address to the terminating frontend (X-Forwarded-For).
    `  server local abns@${o.terminator} send-proxy-v2`,
    '',
    'frontend web-tls',
    '  mode http',
    '  option httplog',
    // HTTP/2 or HTTP/1.1 by ALPN, as traefik offers.
    `  bind abns@${o.terminator} accept-proxy ssl crt ${o.defaultCertificate} crt-list ${o.certificateList} alpn h2,http/1.1`,
    '  option forwardfor',
    '  http-request set-header X-Forwarded-Proto https',
    ...http.map((r) => `  use_backend ${backendName(r.id)} if { req.hdr(host),field(1,:),lower -m str ${r.fqdn.toLowerCase()} }`),
    `  default_backend ${NOT_FOUND}`,
    '',
    `backend ${NOT_FOUND}`,
    '  mode http',
    '  http-request return status 404 content-type text/plain string "404 page not found"',
  ];
  for (const r of [...http, ...tls]) {
    lines.push('', `backend ${backendName(r.id)}`, `  mode ${r.tlsPassthrough ? 'tcp' : 'http'}`, '  balance roundrobin');
    r.servers.forEach((s, i) => lines.push(`  server b${i} ${serverAddress(s)}${r.namespace ? ` namespace ${r.namespace}` : ''}`));
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Bytes through each backend (request + response) from `show stat` CSV: the BACKEND rows'
 * `bin` and `bout`, keyed by proxy name.
 */
export function parseBackendBytes(csv: string): Map<string, number> {
  const out = new Map<string, number>();
  const lines = csv.split('\n');
  const header = lines[0]?.replace(/^# /, '').split(',') ?? [];
  const [px, sv, bin, bout] = ['pxname', 'svname', 'bin', 'bout'].map((k) => header.indexOf(k));
  if ([px, sv, bin, bout].some((i) => i === undefined || i < 0)) return out;
  for (const line of lines.slice(1)) {
    const f = line.split(',');
    if (f[sv!] !== 'BACKEND') continue;
    out.set(f[px!]!, Number(f[bin!] ?? 0) + Number(f[bout!] ?? 0));
  }
  return out;
}
