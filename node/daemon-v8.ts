import { setFlagsFromString } from 'node:v8';

/**
 * V8 settings for the long-running node (issue 16, memory), measured with bench/node.ts.
 *
 * At process start (NODE_OPTIONS or node's argv; `zos up`, the tests and the OS pass them):
 * a small young generation (V8 grows it to 16 MiB per semi-space, resident for good once touched)
 * and one V8 helper thread instead of one per core. Together about 30 MB less resident; the
 * node's allocation rate is low.
 */
export const NODE_DAEMON_V8_FLAGS = ['--max-semi-space-size=2', '--v8-pool-size=1'] as const;

/**
 * Set by the daemon entry points (`zos node`, the OS init) before the node's code loads; V8 takes
 * them at run time (measured with bench/node.ts, load 8-11):
 * - optimizing compiles on the main thread: on a helper thread their scratch memory (several MB
 *   while start-up code gets hot) stayed in that thread's malloc arena, resident for good, in
 *   about half the starts (an idle node at 89 instead of 81 MB). The same compiles still happen.
 *   Some starts still kept ~7 MB in V8's platform worker thread's arena (about 1 in 4): freed
 *   memory, which the daemons' malloc trim gives back (lib/memory.ts);
 * - --optimize-for-size: V8 grows the heap by smaller steps and collects sooner, so the garbage of
 *   a burst of deployments or requests is not kept resident (100 deployments: 87 instead of
 *   97-101 MB; idle 78). Node CPU per zos.deployment.get 0.178 vs 0.170 ms, within run-to-run noise.
 */
export function applyDaemonV8Settings(): void {
  setFlagsFromString('--no-concurrent-recompilation');
  setFlagsFromString('--optimize-for-size');
}
