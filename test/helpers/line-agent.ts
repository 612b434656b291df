import type { ResultPromise } from 'execa';
import { waitOutput } from './lab.ts';

/**
 * A child process that answers JSON lines (an official client run inside a lab namespace, see
 * test/network/rmb-agent.ts and test/indexer/grid-client-agent.ts): it prints `{"ready":true,...}`
 * once, then for each request line `{id, ...}` on stdin one answer line `{id, ok, value|error}`.
 * Other stdout lines are ignored.
 */
export class LineAgent {
  private seq = 0;
  private readonly pending = new Map<number, (r: { ok: boolean; value?: unknown; error?: string }) => void>();

  private constructor(private readonly proc: ResultPromise) {
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (!line.startsWith('{"id":')) continue;
        const msg = JSON.parse(line) as { id: number; ok: boolean };
        this.pending.get(msg.id)?.(msg);
        this.pending.delete(msg.id);
      }
    });
  }

  /** Waits for the agent's ready line (the whole startup output is returned). */
  static async start(proc: ResultPromise, timeoutMs = 60_000): Promise<{ agent: LineAgent; ready: string }> {
    const ready = await waitOutput(proc, /"ready":true/, 'stdout', timeoutMs);
    return { agent: new LineAgent(proc), ready };
  }

  /** One request; rejects with the agent's error text (prefixed with `what` when given). */
  request<T = unknown>(fields: Record<string, unknown>, what = ''): Promise<T> {
    const id = ++this.seq;
    this.proc.stdin!.write(`${JSON.stringify({ id, ...fields })}\n`);
    return new Promise((resolve, reject) =>
      this.pending.set(id, (r) => (r.ok ? resolve(r.value as T) : reject(new Error(what ? `${what}: ${r.error}` : r.error)))));
  }

  close(): void {
    this.proc.stdin?.end();
  }
}
