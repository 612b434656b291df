/**
 * `zos.debug.deployment.{list,get,history,info,health}` (zosbase pkg/debugcmd) for the admin
 * twins: read-only views of the deployment store in zos' shapes and texts. Deployments are named
 * "twin:contract".
 */
import { z } from 'zod';
import type { DeploymentStore } from '../engine/store.ts';
import { workloadId } from '../model/ids.ts';
import { networkChecks, networkInfo, type HealthCheck, type NetworkFacts } from './debug-network.ts';

const NETWORK_TYPES = new Set(['network', 'network-light']);

/** Go's strconv.ParseUint(s, 10, bits) error text, or the value. */
function parseUint(s: string, bits: 32 | 64): number | string {
  if (!/^[0-9]+$/.test(s)) return `strconv.ParseUint: parsing ${JSON.stringify(s)}: invalid syntax`;
  if (BigInt(s) >= 1n << BigInt(bits)) return `strconv.ParseUint: parsing ${JSON.stringify(s)}: value out of range`;
  return Number(s);
}

/** debugcmd.ParseDeploymentID: "twin-id:contract-id" with zos' error texts. */
export function parseDeploymentRef(s: string): { twin: number; contract: number } {
  if (s === '') throw new Error('deployment identifier is required');
  const parts = s.split(':');
  if (parts.length !== 2) throw new Error(`invalid deployment format: expected 'twin-id:contract-id', got '${s}'`);
  const twin = parseUint(parts[0]!, 32);
  if (typeof twin === 'string') throw new Error(`invalid twin ID: ${parts[0]}: ${twin}`);
  const contract = parseUint(parts[1]!, 64);
  if (typeof contract === 'string') throw new Error(`invalid contract ID: ${parts[1]}: ${contract}`);
  return { twin, contract };
}

export const debugArgs = {
  list: z.object({ twin_id: z.number().int().nonnegative().default(0) }).passthrough(),
  deployment: z.object({ deployment: z.string().default('') }).passthrough(),
  info: z.object({ deployment: z.string().default(''), workload: z.string().default(''), verbose: z.boolean().default(false) }).passthrough(),
  health: z.object({ deployment: z.string().default(''), options: z.record(z.string(), z.unknown()).nullish() }).passthrough(),
};
type Args<K extends keyof typeof debugArgs> = z.infer<(typeof debugArgs)[K]>;

export function debugAnswers(store: DeploymentStore, network: NetworkFacts) {
  const get = (ref: { twin: number; contract: number }) => store.get(ref.twin, ref.contract);
  const getWrapped = (ref: { twin: number; contract: number }) => {
    try {
      return get(ref);
    } catch (err) {
      throw new Error(`failed to get deployment: ${(err as Error).message}`);
    }
  };
  return {
    list({ twin_id }: Args<'list'>) {
      const twins = twin_id === 0 ? store.twins() : [twin_id];
      return {
        deployments: twins.flatMap((twin) =>
          store.listActive(twin).map((d) => ({
            twin_id: d.twin_id,
            contract_id: d.contract_id,
            workloads: d.workloads.map((w) => ({ type: w.type, name: w.name, state: w.result.state })),
          })),
        ),
      };
    },
    get({ deployment }: Args<'deployment'>) {
      return { deployment: get(parseDeploymentRef(deployment)) };
    },
    history({ deployment }: Args<'deployment'>) {
      const ref = parseDeploymentRef(deployment);
      return {
        deployment,
        history: store.changes(ref.twin, ref.contract).map((w, i) => ({
          seq: i + 1,
          type: w.type,
          name: w.name,
          created: w.result.created,
          state: w.result.state,
          message: w.result.message,
        })),
      };
    },
    info(req: Args<'info'>) {
      if (req.workload === '') throw new Error('workload name is required');
      const ref = parseDeploymentRef(req.deployment);
      const wl = getWrapped(ref).workloads.find((w) => w.name === req.workload);
      if (!wl) throw new Error(`workload '${req.workload}' not found in deployment`);
      // zos also inspects VMs here (their primitive is not on this node yet); every other type gets this text.
      if (!NETWORK_TYPES.has(wl.type)) throw new Error(`workload type '${wl.type}' not supported for info command`);
      return {
        workload_id: workloadId(ref.twin, ref.contract, wl.name),
        type: wl.type,
        name: wl.name,
        info: networkInfo(network, ref.twin, wl.name, wl.result.state),
        logs: "Network workloads don't support logs",
      };
    },
    async health(req: Args<'health'>) {
      const probe = req.options?.['system_probe'];
      if (probe !== undefined && probe !== null) {
        // zos runs the probe as a host command; this node runs no command sent over RMB.
        throw new Error('system_probe is not supported: the node runs no commands sent over RMB');
      }
      if (req.deployment === '') throw new Error('deployment is required when system_probe is not specified');
      const ref = parseDeploymentRef(req.deployment);
      const workloads: Array<{ workload_id: string; type: string; name: string; status: 'healthy' | 'unhealthy'; checks: HealthCheck[] }> = [];
      // zos checks networks and VMs only (VMs are not on this node yet); other workloads add no
      // entry, and an empty list stays nil: `null` on the wire.
      for (const wl of getWrapped(ref).workloads) {
        if (!NETWORK_TYPES.has(wl.type)) continue;
        const mycelium = wl.type === 'network-light' || (wl.data as { mycelium?: unknown } | null)?.mycelium != null;
        const checks = await networkChecks(network, ref.twin, wl.name, mycelium);
        workloads.push({
          workload_id: workloadId(ref.twin, ref.contract, wl.name),
          type: wl.type,
          name: wl.name,
          status: checks.every((c) => c.ok) ? 'healthy' : 'unhealthy',
          checks,
        });
      }
      return { twin_id: ref.twin, contract_id: ref.contract, workloads: workloads.length ? workloads : null };
    },
  };
}

export type DebugAnswers = ReturnType<typeof debugAnswers>;
