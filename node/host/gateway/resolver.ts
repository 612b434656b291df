import { Resolver } from 'node:dns/promises';

/** zos asks Google's public resolver, bypassing any local cache. */
export const DEFAULT_DNS_RESOLVER = '8.8.8.8:53';

/**
 * Go's net.Resolver.LookupHost against one DNS server (`ip:port`), uncached: the A and AAAA
 * records of `host`. Errors read like Go's (`lookup <host> on <server>: no such host`).
 */
export function hostLookup(server: string = DEFAULT_DNS_RESOLVER): (host: string) => Promise<string[]> {
  return async (host) => {
    const r = new Resolver({ timeout: 5000, tries: 2 });
    r.setServers([server]);
    const [v4, v6] = await Promise.allSettled([r.resolve4(host), r.resolve6(host)]);
    const ips = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
    if (ips.length) return ips;
    const code = v4.status === 'rejected' ? (v4.reason as NodeJS.ErrnoException).code : undefined;
    const why = code === 'ENOTFOUND' || code === 'ENODATA' || code === undefined ? 'no such host' : code === 'ETIMEOUT' ? 'i/o timeout' : `server misbehaving (${code})`;
    throw new Error(`lookup ${host} on ${server}: ${why}`);
  };
}
