// The node's perf tasks, composed once: what zos' noded schedules that can run on this node.
// iperf, public-ip-validation and provision-test need other grid nodes, farm IPs or VMs; they are
// not scheduled, so `zos.perf.get` answers zos' `result not found` for them.
import { join } from 'node:path';
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/log.ts';
import { cpuBenchTask } from './cpubench.ts';
import { healthcheckTask, isHealthy } from './healthcheck.ts';
import { PerfMonitor } from './monitor.ts';

export interface NodePerfOptions {
  dataDir: string;
  chainUrls: readonly string[];
  relayUrls: readonly string[];
  activationUrl?: string;
  /** Active workloads now (the CPU benchmark records it). */
  workloads: () => number;
  clock?: Clock;
  log: Logger;
}

export function nodePerf(o: NodePerfOptions): PerfMonitor {
  const services: Record<string, readonly string[]> = { substrate: o.chainUrls, relay: o.relayUrls };
  if (o.activationUrl) services['activation'] = [o.activationUrl];
  return new PerfMonitor({
    dir: join(o.dataDir, 'perf'),
    tasks: [healthcheckTask({ cacheDir: o.dataDir, services }), cpuBenchTask(o.workloads)],
    clock: o.clock,
    log: o.log,
  });
}

/** The last health check found nothing wrong (false before it has run). */
export async function perfHealthy(perf: PerfMonitor): Promise<boolean> {
  return perf.get('healthcheck').then((r) => isHealthy(r.result), () => false);
}

export { PerfMonitor };
