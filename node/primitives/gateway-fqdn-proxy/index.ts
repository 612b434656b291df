import type { PrimitiveOf } from '../types.ts';
import { canonicalIp, gatewayPrimitive, setupRouting, type GatewayServices } from '../gateway-name-proxy/routing.ts';

const KIND = 'gateway-fqdn-proxy';

/**
 * `gateway-fqdn-proxy` (zos pkg/gateway SetFQDNProxy): the owner's domain proxied to the
 * backends. It must not be under the node's own domain, and must resolve (through the node's
 * resolver) to one of the node's public IPs. Result `{}`.
 */
export function gatewayFqdnPrimitive(s: GatewayServices): PrimitiveOf<'gateway-fqdn-proxy'> {
  return gatewayPrimitive(s, KIND, 'fqdn', async (ctx, d, cfg) => {
    if (cfg.domain && d.fqdn.endsWith(cfg.domain)) throw new Error("can't create a fqdn workload with a subdomain of the gateway's managed domain");
    const ips = await s.lookupHost(d.fqdn).catch((err: Error) => {
      throw new Error(`failed to verify domain dns record: ${err.message}`);
    });
    const own = new Set([cfg.ipv4, cfg.ipv6].filter(Boolean).map(canonicalIp));
    if (!ips.some((ip) => own.has(canonicalIp(ip)))) throw new Error("failed to verify domain dns record: host doesn't point to the gateway ip");
    await setupRouting(ctx, s, KIND, d.fqdn, d, cfg);
    return {};
  });
}
