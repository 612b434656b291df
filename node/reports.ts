import { uptime as hostUptime } from 'node:os';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/log.ts';
import type { NodeChain, NruReport } from './chain-port.ts';
import type { DeploymentStore } from './engine/store.ts';
import { parseWorkloadId } from './model/ids.ts';

export interface ReporterOptions {
  chain: NodeChain;
  store: DeploymentStore;
  clock: Clock;
  log: Logger;
  uptimeEveryMs?: number;
  nruEveryMs?: number;
  /** Public traffic per contract not reported yet (bytes); none when the node has no public NICs. */
  nruSource?: () => Promise<Array<{ contractId: number; nru: number }>>;
  /** Called once add_nru_reports took what nruSource gave (a failed report leaves it to the next one). */
  nruReported?: () => Promise<void>;
}

/**
 * Chain reports (zos §6): report_uptime_v2 periodically, report_contract_resources after a
 * change (and at start for every contract), add_nru_reports hourly with zero windows skipped.
 * Failures are logged and retried on the next tick; they never stop the node.
 */
export class Reporter {
  private readonly abort = new AbortController();
  private loops: Promise<void>[] = [];
  private pending = new Set<string>();
  private flushing: Promise<void> | null = null;
  private lastNru: number;

  constructor(private readonly o: ReporterOptions) {
    this.lastNru = Math.floor(o.clock.now() / 1000);
  }

  start(): void {
    if (this.loops.length) return;
    const signal = this.abort.signal;
    this.loops.push(this.every(this.o.uptimeEveryMs ?? 40 * 60_000, () => this.reportUptime(), signal, true));
    this.loops.push(this.every(this.o.nruEveryMs ?? 60 * 60_000, () => this.reportNru(), signal, false));
    for (const k of this.o.store.keys()) this.resourcesChanged(k.twin, k.contract);
  }

  async close(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled(this.loops);
    await this.flushing?.catch(() => undefined);
  }

  async reportUptime(): Promise<void> {
    await this.o.chain.reportUptime(Math.floor(hostUptime()));
    this.o.log.debug('uptime reported');
  }

  /** Queues a resources report for one contract; reports are sent in one extrinsic per flush. */
  resourcesChanged(twin: number, contract: number): void {
    this.pending.add(`${twin}:${contract}`);
    this.flushing ??= this.flushResources().finally(() => (this.flushing = null));
  }

  private async flushResources(): Promise<void> {
    while (this.pending.size && !this.abort.signal.aborted) {
      const keys = [...this.pending];
      this.pending.clear();
      const reports = keys.map((k) => {
        const [twin, contract] = k.split(':').map(Number) as [number, number];
        return { contractId: contract, used: this.used(twin, contract) };
      });
      try {
        await this.o.chain.reportContractResources(reports);
        this.o.log.debug({ contracts: reports.map((r) => r.contractId) }, 'contract resources reported');
      } catch (err) {
        this.o.log.warn({ err: (err as Error).message }, 'contract resources report failed; will retry on next change');
      }
    }
  }

  /** Σ capacity of ok/paused workloads of one deployment, without IPv4 (zos cap.go). */
  used(twin: number, contract: number): { hru: number; sru: number; cru: number; mru: number } {
    const { hru, sru, cru, mru } = this.o.store.usedCapacity({ of: { twin, contract } });
    return { hru, sru, cru, mru };
  }

  /** Sums bytes per workload (`twin-contract-name` ids) into NRU per contract. */
  static perContract(traffic: Array<{ id: string; bytes: number }>): Array<{ contractId: number; nru: number }> {
    const sums = new Map<number, number>();
    for (const t of traffic) {
      const contract = parseWorkloadId(t.id)?.contract;
      if (contract !== undefined) sums.set(contract, (sums.get(contract) ?? 0) + t.bytes);
    }
    return [...sums].map(([contractId, nru]) => ({ contractId, nru }));
  }

  async reportNru(): Promise<void> {
    const now = Math.floor(this.o.clock.now() / 1000);
    const window = now - this.lastNru;
    const usage = (await this.o.nruSource?.()) ?? [];
    const reports: NruReport[] = usage.filter((u) => u.nru > 0).map((u) => ({ contractId: u.contractId, timestamp: now, window, nru: u.nru }));
    if (reports.length) await this.o.chain.addNruReports(reports);
    await this.o.nruReported?.();
    this.lastNru = now;
  }

  private async every(ms: number, fn: () => Promise<void>, signal: AbortSignal, immediately: boolean): Promise<void> {
    if (immediately) await fn().catch((err: Error) => this.o.log.warn({ err: err.message }, 'chain report failed'));
    while (!signal.aborted) {
      try {
        await this.o.clock.sleep(ms, signal);
      } catch {
        return;
      }
      await fn().catch((err: Error) => this.o.log.warn({ err: err.message }, 'chain report failed'));
    }
  }
}

