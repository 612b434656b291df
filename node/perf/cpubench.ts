/**
 * zos' CPU benchmark task (zosbase pkg/perf/cpubench): runs the `cpubench -j` tool and adds the
 * number of workloads running meanwhile. Where the tool is not installed the task fails, stores
 * nothing, and `zos.perf.get` answers zos' `result not found` for it.
 */
import { z } from 'zod';
import { goExec } from '../host/system/index.ts';
import type { PerfTask } from './monitor.ts';

const outputSchema = z.object({ single: z.number(), multi: z.number(), threads: z.number().int() });

export function cpuBenchTask(workloads: () => number): PerfTask {
  return {
    id: 'cpu-benchmark',
    description: "seconds the node's CPU takes for a fixed task, single- and multi-threaded (zos' cpubench tool)",
    everyMs: 6 * 60 * 60_000,
    async run() {
      const out = await goExec('cpubench', ['-j']).catch((err: Error) => {
        throw new Error(`failed to execute cpubench command: ${err.message}`);
      });
      let parsed;
      try {
        parsed = outputSchema.safeParse(JSON.parse(out));
      } catch (err) {
        throw new Error(`failed to parse cpubench output: ${(err as Error).message}`);
      }
      if (!parsed.success) throw new Error('failed to parse cpubench output');
      return { ...parsed.data, workloads: workloads() };
    },
  };
}
