/**
 * The node's periodic checks and their last results (zosbase pkg/perf): each task runs at start
 * when it has no stored result, then on its period; a result is stored only when the task ran
 * (a task that can't run here leaves nothing, and `get` answers zos' `result not found`).
 * Results live as one JSON file per task under the data dir, so they survive a restart.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { systemClock, type Clock } from '../../lib/clock.ts';
import { writeFileDurably } from '../../lib/durable.ts';
import type { Logger } from '../../lib/log.ts';

/** zos pkg.TaskResult: what `zos.perf.get` answers. */
export interface TaskResult {
  name: string;
  description: string;
  /** Unix seconds. */
  timestamp: number;
  result: unknown;
}

export interface PerfTask {
  /** Stable id: the `name` clients ask `zos.perf.get` for. */
  id: string;
  description: string;
  everyMs: number;
  run(signal: AbortSignal): Promise<unknown>;
}

export const RESULT_NOT_FOUND = 'result not found';
const NAME = /^[a-z0-9-]+$/;

export class PerfMonitor {
  private readonly abort = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private readonly clock: Clock;

  constructor(
    private readonly o: { dir: string; tasks: PerfTask[]; log: Logger; clock?: Clock },
  ) {
    this.clock = o.clock ?? systemClock;
    for (const t of o.tasks) if (!NAME.test(t.id)) throw new Error(`perf task id ${JSON.stringify(t.id)} must match ${NAME}`);
  }

  async start(): Promise<void> {
    await mkdir(this.o.dir, { recursive: true });
    for (const task of this.o.tasks) this.loops.push(this.loop(task));
  }

  /** Runs one task now and stores its result; throws what the task threw (nothing is stored then). */
  async runTask(task: PerfTask): Promise<TaskResult> {
    const result: TaskResult = {
      name: task.id,
      description: task.description,
      timestamp: Math.floor(this.clock.now() / 1000),
      result: await task.run(this.abort.signal),
    };
    await writeFileDurably(join(this.o.dir, `${task.id}.json`), JSON.stringify(result));
    return result;
  }

  private async loop(task: PerfTask): Promise<void> {
    const log = this.o.log.child({ task: task.id });
    let first = true;
    while (!this.abort.signal.aborted) {
      if (!first || !(await this.stored(task.id))) {
        await this.runTask(task).catch((err: Error) => {
          if (!this.abort.signal.aborted) log.warn({ err: err.message }, `failed to run task: ${task.id}`);
        });
      }
      first = false;
      await this.clock.sleep(task.everyMs, this.abort.signal).catch(() => undefined);
    }
  }

  private stored(name: string): Promise<boolean> {
    return this.get(name).then(() => true, () => false);
  }

  /** `zos.perf.get`: the last result of a task, or zos' `result not found`. */
  async get(name: string): Promise<TaskResult> {
    if (!NAME.test(name)) throw new Error(RESULT_NOT_FOUND);
    const text = await readFile(join(this.o.dir, `${name}.json`), 'utf8').catch(() => null);
    if (text === null) throw new Error(RESULT_NOT_FOUND);
    return JSON.parse(text) as TaskResult;
  }

  /** `zos.perf.get_all`: every stored result; `null` when there is none, as zos marshals it. */
  async getAll(): Promise<TaskResult[] | null> {
    const files = (await readdir(this.o.dir).catch(() => [] as string[])).filter((f) => f.endsWith('.json')).sort();
    const out: TaskResult[] = [];
    for (const f of files) await this.get(f.slice(0, -5)).then((r) => out.push(r), () => undefined);
    return out.length ? out : null;
  }

  async close(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled(this.loops);
  }
}
