/**
 * `zos.system.diagnostics` (zosbase pkg/diagnostics): each of the node's modules is asked for its
 * status within 3 s; `system_status_ok` is false when any failed, and `healthy` is the last
 * health check's verdict. The shape is zos': {system_status_ok, modules: {name: {status:
 * {objects, workers}, error?}}, healthy}; an error is its message (zos marshals a Go error,
 * which carries no text).
 */

const CALL_TIMEOUT_MS = 3_000;

export interface WorkerStatus {
  state: 'free' | 'busy';
  /** RFC 3339 start of the current action (busy only). */
  time?: string;
  action?: string;
}

/** zbus.Status: the objects a module serves (Go struct without JSON tags: capitalised) and its workers. */
export interface ModuleStatusBody {
  objects: Array<{ Name: string; Version: string }> | null;
  workers: WorkerStatus[] | null;
}

export interface ModuleStatus {
  status: ModuleStatusBody;
  error?: string;
}

/** A module check resolves with its status or rejects with why it is down. */
export type ModuleCheck = (signal: AbortSignal) => Promise<ModuleStatusBody>;

export interface Diagnostics {
  system_status_ok: boolean;
  modules: Record<string, ModuleStatus>;
  healthy: boolean;
}

async function withTimeout(check: ModuleCheck): Promise<ModuleStatusBody> {
  const ctl = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error('context deadline exceeded'));
      ctl.abort();
    }, CALL_TIMEOUT_MS);
  });
  try {
    return await Promise.race([check(ctl.signal), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export async function systemDiagnostics(checks: Record<string, ModuleCheck>, healthy: () => Promise<boolean>): Promise<Diagnostics> {
  const names = Object.keys(checks).sort();
  const results = await Promise.all(
    names.map(async (name): Promise<ModuleStatus> => {
      try {
        return { status: await withTimeout(checks[name]!) };
      } catch (err) {
        return { status: { objects: null, workers: null }, error: (err as Error).message };
      }
    }),
  );
  const modules = Object.fromEntries(names.map((n, i) => [n, results[i]!]));
  return {
    system_status_ok: results.every((r) => r.error === undefined),
    modules,
    healthy: await healthy().catch(() => false),
  };
}

export interface NodeModules {
  chain: { finalizedBlockNumber(): Promise<number> };
  relay: { connected(signal?: AbortSignal): Promise<void> };
  /** The engine's queue: its head is the job the one worker is on. */
  queue: { peek(): { op: string; twin: number; contract: number; created: number } | undefined };
  storage: { poolsInfo(): Promise<unknown[]> };
  version: string;
}

/** The node's modules as diagnostics sees them: chain, relay, provision (engine queue), storage (pools). */
export function nodeModuleChecks(m: NodeModules): Record<string, ModuleCheck> {
  const body = (name: string, workers: WorkerStatus[] = []): ModuleStatusBody => ({ objects: [{ Name: name, Version: m.version }], workers });
  return {
    chain: async () => {
      await m.chain.finalizedBlockNumber();
      return body('chain');
    },
    relay: async (signal) => {
      await m.relay.connected(signal);
      return body('relay');
    },
    provision: async () => {
      const job = m.queue.peek();
      const worker: WorkerStatus = job
        ? { state: 'busy', time: new Date(job.created * 1000).toISOString(), action: `${job.op} ${job.twin}:${job.contract}` }
        : { state: 'free' };
      return body('engine', [worker]);
    },
    storage: async () => {
      if ((await m.storage.poolsInfo()).length === 0) throw new Error('no storage pools');
      return body('storage');
    },
  };
}
