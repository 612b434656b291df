import type { PrimitiveOf } from '../types.ts';
import { gatewayPrimitive, setupRouting, type GatewayServices } from './routing.ts';

const KIND = 'gateway-name-proxy';

/**
 * `gateway-name-proxy` (zos pkg/gateway SetNamedProxy): `<name>.<node domain>` proxied to the
 * backends. The node needs a public config with a domain, and the name a live name contract of
 * the deploying twin on chain. Result `{"fqdn"}`.
 */
export function gatewayNamePrimitive(s: GatewayServices): PrimitiveOf<'gateway-name-proxy'> {
  return gatewayPrimitive(s, KIND, 'name', async (ctx, d, cfg) => {
    if (!cfg.domain) throw new Error("node doesn't support name proxy (doesn't have a domain)");
    const contract = await s.nameContract(d.name);
    const invalid = !contract
      ? 'a name contract with the given name must be reserved first'
      : contract.state !== 'Created' && contract.state !== 'GracePeriod'
        ? 'the name contract must be in Created or GracePeriod state'
        : contract.twinId !== ctx.workload.twin ? 'twin id mismatch' : null;
    if (invalid) throw new Error(`failed to verify name contract: ${invalid}`);
    const fqdn = `${d.name}.${cfg.domain}`;
    await setupRouting(ctx, s, KIND, fqdn, d, cfg);
    return { fqdn };
  });
}
