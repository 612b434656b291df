import { z } from 'zod';
import { zodMessage } from '../../lib/zod-issues.ts';
import { readOnly, type Handler, type RequestContext } from '../../relay-client/router.ts';
import { zosErrors } from '../errors.ts';
import { debugArgs } from './debug.ts';
import type { ApiServices } from './services.ts';

const contractArgs = z.object({ contract_id: z.number().int().nonnegative() }).passthrough();
const networkArgs = z.object({ network_name: z.string() }).passthrough();
/** zos decodes {Name} into an untagged Go field: the key matches in any case. */
const perfArgs = z
  .record(z.string(), z.unknown())
  .transform((o) => Object.entries(o).find(([k]) => k.toLowerCase() === 'name')?.[1])
  .pipe(z.string().default(''));

/** zos decodes the payload into a Go string: Go's json errors, and null leaves it empty. */
function publicNicArg(p: unknown): string {
  if (typeof p === 'string') return p;
  if (p === null) return '';
  const why = p === undefined ? 'unexpected end of JSON input'
    : `json: cannot unmarshal ${Array.isArray(p) ? 'array' : typeof p === 'boolean' ? 'bool' : typeof p} into Go value of type string`;
  throw new Error(`failed to decode input, expecting string: ${why}`);
}

function parse<T>(schema: z.ZodType<T>, payload: unknown): T {
  const r = schema.safeParse(payload);
  if (!r.success) throw zosErrors.badRequest(`invalid request payload: ${zodMessage(r.error, { root: '(root)' })}`);
  return r.data;
}

/**
 * Every zos.* command in one table (zosbase pkg/zos_api/routes.go). Each handler parses its
 * payload and calls a service; the admin subtree is guarded to the farmer twin and served
 * under both zos.admin.* and zos.network.admin.* (zos serves one, its clients call the other).
 * Handlers that only read the node's own state are marked readOnly: they may run while the
 * request's signature is still being checked (relay-client/responder.ts). Those that run host
 * commands or probes (dmi, hypervisor, interfaces, gpu, diagnostics, location) and the guarded
 * subtrees are not, so a forged request never makes the node do more than read.
 */
export function routes(s: ApiServices): Record<string, Handler> {
  const farmerOnly =
    (h: Handler): Handler =>
    async (payload, ctx) => {
      if (!(await s.admin.isFarmer(ctx.twin))) throw zosErrors.unauthorized();
      return h(payload, ctx);
    };

  const admin: Record<string, Handler> = {
    interfaces: farmerOnly(() => s.admin.interfaces()),
    get_public_nic: farmerOnly(() => s.admin.getPublicNic()),
    set_public_nic: farmerOnly((p) => s.admin.setPublicNic(publicNicArg(p))),
  };

  const adminOnly =
    (h: Handler): Handler =>
    (payload, ctx) => {
      if (!s.debug.isAdmin(ctx.twin)) throw zosErrors.unauthorized();
      return h(payload, ctx);
    };

  const table: Record<string, Handler> = {
    'zos.deployment.deploy': (p, ctx: RequestContext) => s.deployments.deploy(ctx.twin, p),
    'zos.deployment.update': (p, ctx) => s.deployments.update(ctx.twin, p),
    'zos.deployment.delete': () => {
      throw zosErrors.deletionDisabled();
    },
    'zos.deployment.get': readOnly((p, ctx) => s.deployments.get(ctx.twin, parse(contractArgs, p).contract_id)),
    'zos.deployment.list': readOnly((_p, ctx) => s.deployments.list(ctx.twin)),
    'zos.deployment.changes': readOnly((p, ctx) => s.deployments.changes(ctx.twin, parse(contractArgs, p).contract_id)),
    'zos.statistics.get': readOnly(() => s.statistics()),
    'zos.storage.pools': readOnly(() => s.storagePools()),
    'zos.system.version': readOnly(() => s.system.version()),
    'zos.system.dmi': () => s.system.dmi(),
    'zos.system.hypervisor': () => s.system.hypervisor(),
    'zos.system.diagnostics': () => s.system.diagnostics(),
    'zos.system.node_features_get': readOnly(() => s.system.features()),
    'zos.network.list_wg_ports': readOnly(() => s.network.listWgPorts()),
    'zos.network.public_config_get': readOnly(() => s.network.publicConfig()),
    'zos.network.interfaces': () => s.network.interfaces(),
    'zos.network.has_ipv6': readOnly(() => s.network.hasIpv6()),
    'zos.network.list_public_ips': readOnly(() => s.network.listPublicIps()),
    'zos.network.list_private_ips': readOnly((p, ctx) => s.network.listPrivateIps(ctx.twin, parse(networkArgs, p).network_name)),
    'zos.gpu.list': () => s.gpuList(),
    'zos.perf.get': readOnly((p) => s.perf.get(parse(perfArgs, p ?? {}))),
    'zos.perf.get_all': readOnly(() => s.perf.getAll()),
    'zos.location.get': () => s.location(),
    'zos.debug.deployment.list': adminOnly((p) => s.debug.list(parse(debugArgs.list, p ?? {}))),
    'zos.debug.deployment.get': adminOnly((p) => s.debug.get(parse(debugArgs.deployment, p ?? {}))),
    'zos.debug.deployment.history': adminOnly((p) => s.debug.history(parse(debugArgs.deployment, p ?? {}))),
    'zos.debug.deployment.info': adminOnly((p) => s.debug.info(parse(debugArgs.info, p ?? {}))),
    'zos.debug.deployment.health': adminOnly((p) => s.debug.health(parse(debugArgs.health, p ?? {}))),
  };
  for (const [name, h] of Object.entries(admin)) {
    table[`zos.admin.${name}`] = h;
    table[`zos.network.admin.${name}`] = h;
  }
  return table;
}
