// zos.network.* answers backed by this node's network resources and deployments
// (zosbase pkg/zos_api/network.go). interfaces and public_config_get live with the system facts.
import type { Deployment } from '../model/deployment.ts';

interface DeploymentSource {
  listActive(twin?: number): Deployment[];
}

const live = (state: string) => state !== 'deleted' && state !== 'error';

/** `list_private_ips`: the interface IPs on `network` of the sender's zmachine(-light) workloads that are not deleted or in error. */
export function listPrivateIps(store: DeploymentSource, twin: number, network: string): string[] {
  const ips: string[] = [];
  for (const dl of store.listActive(twin)) {
    for (const wl of dl.workloads) {
      if ((wl.type !== 'zmachine' && wl.type !== 'zmachine-light') || !live(wl.result.state)) continue;
      const ifaces = (wl.data as { network?: { interfaces?: Array<{ network?: string; ip?: string }> } } | null)?.network?.interfaces ?? [];
      for (const i of ifaces) if (i.network === network && i.ip) ips.push(i.ip);
    }
  }
  return ips;
}

/** `list_public_ips`: the `ip` of every ok `ip`/`ipv4` workload, across all twins. */
export function listPublicIps(store: DeploymentSource): string[] {
  const ips: string[] = [];
  for (const dl of store.listActive()) {
    for (const wl of dl.workloads) {
      if ((wl.type !== 'ip' && wl.type !== 'ipv4') || wl.result.state !== 'ok') continue;
      const ip = (wl.result.data as { ip?: string } | null)?.ip;
      if (ip) ips.push(ip);
    }
  }
  return ips;
}

/**
 * `has_ipv6`: zos answers true or, instead of false, the error `no public ipv6 found`; the node's
 * public IPv6 prefix comes from its public config.
 */
export function hasIpv6(setup: { ipv6: string | null } | null): true {
  if (!setup?.ipv6) throw new Error('no public ipv6 found');
  return true;
}
