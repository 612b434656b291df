import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';

/**
 * A DHCPv4 client (RFC 2131) small enough for init: DISCOVER, OFFER, REQUEST, ACK over a UDP
 * socket that exists only during the exchange, so the OS keeps no bound port afterwards.
 * The codec below is pure; `dhcpLease` does the I/O.
 */
export const DhcpType = { Discover: 1, Offer: 2, Request: 3, Ack: 5, Nak: 6 } as const;
export type DhcpType = (typeof DhcpType)[keyof typeof DhcpType];

const COOKIE = 0x63825363;
const OPT = { subnet: 1, router: 3, dns: 6, requested: 50, lease: 51, type: 53, server: 54, params: 55, end: 255, pad: 0 } as const;

export interface DhcpMessage {
  op: number;
  xid: number;
  yiaddr: string;
  mac: Buffer;
  type?: DhcpType;
  subnet?: string;
  router?: string;
  dns: string[];
  leaseSeconds?: number;
  server?: string;
}

const ip = (b: Buffer, off: number) => `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
const ipBytes = (s: string) => Buffer.from(s.split('.').map(Number));

/** `ciaddr`: the client's current address, set when renewing or rebinding a lease (RFC 2131 4.3.2). */
export function encodeDhcp(o: { type: DhcpType; xid: number; mac: Buffer; requested?: string; server?: string; ciaddr?: string }): Buffer {
  const b = Buffer.alloc(240);
  b[0] = 1; // BOOTREQUEST
  b[1] = 1; // ethernet
  b[2] = 6;
  b.writeUInt32BE(o.xid, 4);
  // Without an address, ask for broadcast replies; with one (renewing), the reply comes to it.
  if (o.ciaddr) ipBytes(o.ciaddr).copy(b, 12);
  else b.writeUInt16BE(0x8000, 10);
  o.mac.copy(b, 28);
  b.writeUInt32BE(COOKIE, 236);
  const opts: number[] = [OPT.type, 1, o.type];
  if (o.requested) opts.push(OPT.requested, 4, ...ipBytes(o.requested));
  if (o.server) opts.push(OPT.server, 4, ...ipBytes(o.server));
  opts.push(OPT.params, 4, OPT.subnet, OPT.router, OPT.dns, OPT.lease, OPT.end);
  return Buffer.concat([b, Buffer.from(opts)]);
}

export function decodeDhcp(b: Buffer): DhcpMessage | undefined {
  if (b.length < 240 || b.readUInt32BE(236) !== COOKIE) return undefined;
  const m: DhcpMessage = { op: b[0]!, xid: b.readUInt32BE(4), yiaddr: ip(b, 16), mac: Buffer.from(b.subarray(28, 34)), dns: [] };
  for (let i = 240; i < b.length; ) {
    const code = b[i]!;
    if (code === OPT.end) break;
    if (code === OPT.pad) {
      i++;
      continue;
    }
    const len = b[i + 1] ?? 0;
    const v = b.subarray(i + 2, i + 2 + len);
    if (v.length < len) return undefined;
    if (code === OPT.type && len === 1) m.type = v[0]! as DhcpType;
    else if (code === OPT.subnet && len === 4) m.subnet = ip(v, 0);
    else if (code === OPT.router && len >= 4) m.router = ip(v, 0);
    else if (code === OPT.dns) for (let j = 0; j + 4 <= len; j += 4) m.dns.push(ip(v, j));
    else if (code === OPT.lease && len === 4) m.leaseSeconds = v.readUInt32BE(0);
    else if (code === OPT.server && len === 4) m.server = ip(v, 0);
    i += 2 + len;
  }
  return m;
}

/** Prefix length of a dotted netmask. */
export function maskBits(mask: string): number {
  return mask.split('.').reduce((n, p) => n + (Number(p) >>> 0).toString(2).replace(/0/g, '').length, 0);
}

export interface Lease {
  address: string;
  prefix: number;
  router?: string;
  dns: string[];
  leaseSeconds: number;
  /** The DHCP server that granted it (renewals go there first). */
  server?: string;
}

/** When a lease granted at `t0` (ms) must be renewed (T1), rebound (T2) and dropped (RFC 2131 4.4.5). Pure. */
export function leaseTimes(t0: number, leaseSeconds: number): { renew: number; rebind: number; expire: number } {
  const ms = leaseSeconds * 1000;
  return { renew: t0 + ms * 0.5, rebind: t0 + ms * 0.875, expire: t0 + ms };
}

/** A UDP socket on port 68 for one exchange, then closed: the OS keeps no bound port between exchanges. */
async function withClient<T>(mac: Buffer, fn: (c: { xid: number; send: (b: Buffer, to: string) => Promise<void>; wait: (want: DhcpType, ms: number) => Promise<DhcpMessage | undefined> }) => Promise<T>): Promise<T> {
  const sock = createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((res, rej) => {
    sock.once('error', rej);
    sock.bind(68, '0.0.0.0', () => res());
  });
  sock.setBroadcast(true);
  const xid = randomBytes(4).readUInt32BE(0);
  const wait = (want: DhcpType, ms: number) =>
    new Promise<DhcpMessage | undefined>((res) => {
      const timer = setTimeout(() => done(undefined), ms);
      const onMsg = (buf: Buffer) => {
        const m = decodeDhcp(buf);
        if (m && m.op === 2 && m.xid === xid && m.mac.equals(mac) && (m.type === want || m.type === DhcpType.Nak)) done(m);
      };
      const done = (m: DhcpMessage | undefined) => {
        clearTimeout(timer);
        sock.off('message', onMsg);
        res(m);
      };
      sock.on('message', onMsg);
    });
  const send = (b: Buffer, to: string) => new Promise<void>((res, rej) => sock.send(b, 67, to, (err) => (err ? rej(err) : res())));
  try {
    return await fn({ xid, send, wait });
  } finally {
    sock.close();
  }
}

const leaseOf = (ack: DhcpMessage, server: string | undefined): Lease => ({
  address: ack.yiaddr, prefix: maskBits(ack.subnet ?? '255.255.255.0'), router: ack.router, dns: ack.dns,
  leaseSeconds: ack.leaseSeconds ?? 3600, ...((ack.server ?? server) ? { server: ack.server ?? server } : {}),
});

/** One DHCP exchange on the interface whose MAC is `mac` (the link must be up and routable for 255.255.255.255). */
export function dhcpLease(mac: Buffer, opts: { timeoutMs?: number; tries?: number } = {}): Promise<Lease> {
  return withClient(mac, async ({ xid, send, wait }) => {
    for (let attempt = 0; attempt < (opts.tries ?? 5); attempt++) {
      const ms = (opts.timeoutMs ?? 2000) * (attempt + 1);
      const offerP = wait(DhcpType.Offer, ms);
      await send(encodeDhcp({ type: DhcpType.Discover, xid, mac }), '255.255.255.255');
      const offer = await offerP;
      if (!offer || offer.type !== DhcpType.Offer) continue;
      const ackP = wait(DhcpType.Ack, ms);
      await send(encodeDhcp({ type: DhcpType.Request, xid, mac, requested: offer.yiaddr, server: offer.server }), '255.255.255.255');
      const ack = await ackP;
      if (!ack || ack.type !== DhcpType.Ack) continue;
      return leaseOf(ack, offer.server);
    }
    throw new Error('no DHCP lease (no answer to DISCOVER/REQUEST)');
  });
}

/**
 * Renews a lease (RENEWING: unicast to its server; `broadcast` for REBINDING, any server): the new
 * lease on ACK, null on NAK (the address must go), undefined when nobody answered.
 */
export function renewLease(mac: Buffer, lease: Lease, o: { broadcast: boolean; timeoutMs?: number }): Promise<Lease | null | undefined> {
  return withClient(mac, async ({ xid, send, wait }) => {
    const ackP = wait(DhcpType.Ack, o.timeoutMs ?? 5000);
    await send(encodeDhcp({ type: DhcpType.Request, xid, mac, ciaddr: lease.address }), o.broadcast || !lease.server ? '255.255.255.255' : lease.server);
    const ack = await ackP;
    if (!ack) return undefined;
    return ack.type === DhcpType.Ack ? leaseOf(ack, lease.server) : null;
  });
}
