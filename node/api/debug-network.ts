/**
 * What `zos.debug.deployment.{info,health}` say about a network workload (zosbase
 * pkg/debugcmd/checks/network.go), read from this node's network host: the NR's record, its
 * namespace and the links in it, its bridge's members. Check names, messages and evidence keys
 * are zos'; mycelium is checked only when the network asked for it (this node refuses mycelium).
 */
import type { HostSystem } from '../host/system/index.ts';
import type { NrInfo } from '../host/network/index.ts';
import { networkId } from '../model/ids.ts';

export interface HealthCheck {
  name: string;
  ok: boolean;
  message?: string;
  evidence?: Record<string, unknown>;
}

const check = (name: string, ok: boolean, message: string, evidence: Record<string, unknown>): HealthCheck => ({ name, ok, message, evidence });

/** Go's %v of a []string: "[a b]". */
const goList = (xs: readonly string[]) => `[${xs.join(' ')}]`;

export interface NetworkFacts {
  /** The NR as the network host keeps it; undefined when it has none for this workload. */
  nr: (twin: number, name: string) => NrInfo | undefined;
  host: Pick<HostSystem, 'namespaceLinks' | 'bridgeMembers'>;
}

/** `info` of a network workload: {net_id, namespace, state}. */
export function networkInfo(f: NetworkFacts, twin: number, name: string, state: string) {
  return { net_id: networkId(twin, name), namespace: f.nr(twin, name)?.namespace ?? '', state };
}

export async function networkChecks(f: NetworkFacts, twin: number, name: string, mycelium: boolean): Promise<HealthCheck[]> {
  const netid = networkId(twin, name);
  const nr = f.nr(twin, name);
  const checks: HealthCheck[] = [
    nr
      ? check('network.config', true, 'config valid', { netid })
      : check('network.config', false, 'config file not found: no network resource on this node', { netid }),
  ];
  const ns = nr?.namespace ?? '';
  const links = ns ? await f.host.namespaceLinks(ns) : null;
  checks.push(
    links
      ? check('network.namespace', true, 'namespace exists', { namespace: ns })
      : check('network.namespace', false, 'namespace not found', { namespace: ns }),
  );
  const required = [...(nr?.wgInterface ? [nr.wgInterface] : []), 'private', 'public'];
  const missing = required.filter((i) => !(links ?? []).includes(i));
  checks.push(
    missing.length
      ? check('network.interfaces', false, `missing interfaces: ${goList(missing)}`, { namespace: ns, missing })
      : check('network.interfaces', true, 'all required interfaces present', { namespace: ns }),
  );
  const bridge = nr?.bridge ?? '';
  const members = bridge ? await f.host.bridgeMembers(bridge) : null;
  checks.push(
    members === null
      ? check('network.bridge', false, 'bridge not found', { bridge })
      : members.length === 0
        ? check('network.bridge', false, 'bridge has no members', { bridge })
        : check('network.bridge', true, 'bridge has members', { bridge }),
  );
  if (mycelium) checks.push(check('network.mycelium', false, 'service not running: mycelium is not supported on this node', { service: `mycelium-${netid}` }));
  return checks;
}
