import type { Logger } from '../../../lib/log.ts';
import { workloadId } from '../../model/ids.ts';
import { LogStream } from '../../host/vm/logstream.ts';
import type { PrimitiveOf } from '../types.ts';

/** The console log of a VM by workload id (VmHost.consolePath). */
export interface ConsoleLogs {
  consolePath(id: string): string;
}

/**
 * zlogs: streams a zmachine's console log to `output` (ws://, wss:// or redis://), outbound
 * only. One stream per zlogs workload, kept in the node process; init restarts them after a
 * node restart. The result is null, as in zos.
 */
export function zlogsPrimitive(vms: ConsoleLogs): PrimitiveOf<'zlogs'> {
  const streams = new Map<string, LogStream>();
  const start = (id: string, vmId: string, output: string, l: Logger) => {
    streams.get(id)?.stop();
    const s = new LogStream(vms.consolePath(vmId), output, l);
    streams.set(id, s);
    s.start();
  };
  return {
    async provision(ctx, config) {
      const vm = ctx.deployment.get(config.zmachine);
      if (vm?.type !== 'zmachine' && vm?.type !== 'zmachine-light') throw new Error(`no zmachine with name '${config.zmachine}' found`);
      start(ctx.workload.id, vm.workload.id, config.output, ctx.log);
      return null;
    },
    async deprovision(ctx) {
      streams.get(ctx.workload.id)?.stop();
      streams.delete(ctx.workload.id);
    },
    async init(ictx) {
      for (const w of ictx.workloads) {
        start(w.workload.id, workloadId(w.workload.twin, w.workload.contract, w.data.zmachine), w.data.output, ictx.log);
      }
    },
  };
}
