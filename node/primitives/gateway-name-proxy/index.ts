import type { NameContractInfo } from '../../chain-port.ts';
import { parseWorkloadId } from '../../model/ids.ts';
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
    const invalid = nameContractError(await s.nameContract(d.name), ctx.workload.twin);
    if (invalid) throw new Error(`failed to verify name contract: ${invalid}`);
    const fqdn = `${d.name}.${cfg.domain}`;
    await setupRouting(ctx, s, KIND, fqdn, d, cfg);
    return { fqdn };
  });
}

/** Why a name contract does not entitle `twin` to its name (zos validateNameContract), or null. */
function nameContractError(contract: NameContractInfo | null, twin: number): string | null {
  if (!contract) return 'a name contract with the given name must be reserved first';
  if (contract.state !== 'Created' && contract.state !== 'GracePeriod') return 'the name contract must be in Created or GracePeriod state';
  return contract.twinId !== twin ? 'twin id mismatch' : null;
}

/**
 * zos' name contract upkeep (hourly, and here also when a name contract is cancelled): the name
 * routes whose contract no longer entitles their twin, with the reason. The caller removes them
 * and reports the workloads as decommissioned. A chain failure throws (nothing is judged).
 */
export async function invalidNameRoutes(s: GatewayServices): Promise<Array<{ id: string; reason: string }>> {
  const domain = (await s.publicConfig())?.domain;
  if (!domain) return [];
  const out: Array<{ id: string; reason: string }> = [];
  for (const r of s.routes.list()) {
    const twin = parseWorkloadId(r.id)?.twin;
    if (r.kind !== KIND || twin === undefined || !r.fqdn.endsWith(`.${domain}`)) continue;
    const reason = nameContractError(await s.nameContract(r.fqdn.slice(0, -domain.length - 1)), twin);
    if (reason) out.push({ id: r.id, reason });
  }
  return out;
}
