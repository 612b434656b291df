// WireGuard configuration as `wg syncconf` reads it, and key checks with the texts zos' Go
// libraries give (wgtypes.ParseKey over encoding/base64). Pure: no I/O.

export const WG_KEY_LEN = 32;
const B64 = /[A-Za-z0-9+/]/;

/** wgtypes.ParseKey: the key bytes, or the error text Go gives. */
export function parseWgKey(s: string): { key: Buffer } | { error: string } {
  const bad = base64Error(s);
  if (bad !== undefined) return { error: `wgtypes: failed to parse base64-encoded key: illegal base64 data at input byte ${bad}` };
  const key = Buffer.from(s, 'base64');
  if (key.length !== WG_KEY_LEN) return { error: `wgtypes: incorrect key size: ${key.length}` };
  return { key };
}

/** Where Go's padded StdEncoding stops on `s` (its CorruptInputError offset), or undefined if it decodes. */
function base64Error(s: string): number | undefined {
  const pad = s.indexOf('=');
  const body = pad < 0 ? s : s.slice(0, pad);
  for (let i = 0; i < body.length; i++) if (!B64.test(body[i]!)) return i;
  if (pad < 0) return s.length % 4 === 0 ? undefined : s.length - (s.length % 4);
  // Padding may only complete the last quantum: "xx==" or "xxx=".
  const inQuantum = pad % 4;
  const tail = s.slice(pad);
  if (inQuantum < 2) return pad;
  if (tail !== (inQuantum === 2 ? '==' : '=')) return inQuantum === 2 && tail[1] !== '=' ? pad + 1 : pad + tail.length - 1;
  return undefined;
}

export interface WgPeerConfig {
  publicKey: string;
  allowedIps: string[];
  /** `ip:port` (IPv6 in brackets), or "" when the peer dials in. */
  endpoint: string;
}

export interface WgInterfaceConfig {
  privateKey: string;
  listenPort: number;
  peers: WgPeerConfig[];
}

/** zos sets a 20 s keepalive on every NR peer so NATed peers stay reachable. */
export const NR_KEEPALIVE_S = 20;

/** Checks keys and endpoints; returns the first error in zos' wording, or undefined. */
export function checkWgConfig(c: WgInterfaceConfig): string | undefined {
  const priv = parseWgKey(c.privateKey);
  if ('error' in priv) return priv.error;
  for (const p of c.peers) {
    const pub = parseWgKey(p.publicKey);
    if ('error' in pub) return pub.error;
    if (p.endpoint !== '' && !/^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]):\d{1,5}$/.test(p.endpoint)) {
      return `failed to parse endpoint '${p.endpoint}': expected ip:port`;
    }
  }
  return undefined;
}

/** The `wg syncconf` file: syncconf changes only what differs, so untouched peers keep their sessions. */
export function renderWgConfig(c: WgInterfaceConfig, keepaliveS = NR_KEEPALIVE_S): string {
  const lines = ['[Interface]', `PrivateKey = ${c.privateKey}`, `ListenPort = ${c.listenPort}`];
  for (const p of c.peers) {
    lines.push('', '[Peer]', `PublicKey = ${p.publicKey}`, `AllowedIPs = ${p.allowedIps.join(', ')}`);
    if (p.endpoint) lines.push(`Endpoint = ${p.endpoint}`);
    lines.push(`PersistentKeepalive = ${keepaliveS}`);
  }
  return `${lines.join('\n')}\n`;
}
