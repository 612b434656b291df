import { readFileSync, readdirSync } from 'node:fs';

/**
 * A build's timeline, for finding where its wall time goes (issue 16): with ZOS_BUILD_TRACE=1 in
 * the environment, buildImage prints to stderr the wall time of each phase and the CPU each thread
 * of the process used in it (Linux /proc/self/task/<tid>/schedstat: the main thread, the build
 * workers, libuv's pool, V8's helpers), so a phase where a core idles shows. Off by default: each
 * mark reads one small file per thread. Materialize has the same (phaseTrace, ZOS_MATERIALIZE_TRACE).
 */
export interface BuildTrace {
  /** The phase that ends now. */
  mark(phase: string): void;
  /** Prints the table. */
  print(): void;
}

export function buildTrace(): BuildTrace | undefined {
  return phaseTrace('build', 'ZOS_BUILD_TRACE');
}

/** The timeline of an operation named `name`, when `envVar` is set in the environment. */
export function phaseTrace(name: string, envVar: string): BuildTrace | undefined {
  if (!process.env[envVar]) return undefined;
  const marks: Array<{ phase: string; at: number; cpu: Map<string, number>; waited: Map<string, number> }> = [];
  const mark = (phase: string) => marks.push({ phase, at: performance.now(), ...threadCpu() });
  mark('start');
  return {
    mark,
    print() {
      const first = marks[0]!.cpu;
      const last = marks[marks.length - 1]!.cpu;
      const main = String(process.pid);
      // Threads that used more than 1 ms, the main thread first.
      const tids = [...last.keys()].filter((t) => t === main || last.get(t)! - (first.get(t) ?? 0) > 1).sort((a, b) => (a === main ? -1 : b === main ? 1 : Number(a) - Number(b)));
      const lines = [`${name} trace: ms of wall and of CPU per thread (${tids.map((t) => (t === main ? 'main' : t)).join(', ')}), then ms all of them waited for a CPU`];
      for (let i = 1; i < marks.length; i++) {
        const [a, b] = [marks[i - 1]!, marks[i]!];
        const cpu = tids.map((t) => (b.cpu.has(t) ? b.cpu.get(t)! - (a.cpu.get(t) ?? 0) : 0)); // a thread started in the phase had 0
        const waited = tids.reduce((n, t) => n + (b.waited.get(t) ?? 0) - (a.waited.get(t) ?? 0), 0);
        lines.push(`  ${b.phase.padEnd(16)} ${(b.at - a.at).toFixed(1).padStart(7)}  ${cpu.map((c) => c.toFixed(1).padStart(7)).join('')}  ${waited.toFixed(1).padStart(7)}`);
      }
      const total = tids.map((t) => (last.get(t) ?? 0) - (first.get(t) ?? 0)).reduce((n, c) => n + c, 0);
      lines.push(`  ${'total'.padEnd(16)} ${(marks[marks.length - 1]!.at - marks[0]!.at).toFixed(1).padStart(7)}  CPU of these threads ${total.toFixed(1)}`);
      process.stderr.write(`${lines.join('\n')}\n`);
    },
  };
}

/**
 * CPU ms so far of every thread of this process, and ms each waited runnable for a CPU (on a
 * loaded machine, what a phase lost to other processes rather than to I/O); threads that ended are gone.
 */
function threadCpu(): { cpu: Map<string, number>; waited: Map<string, number> } {
  const cpu = new Map<string, number>();
  const waited = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const [run, wait] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ');
      cpu.set(tid, Number(run) / 1e6);
      waited.set(tid, Number(wait) / 1e6);
    } catch {
      // the thread ended meanwhile
    }
  }
  return { cpu, waited };
}
