import type { Logger } from '../../lib/log.ts';
import type { NodeChain, NodeChainEvent } from '../chain-port.ts';
import { isActive } from '../model/workload.ts';
import type { JobQueue } from './queue.ts';
import type { DeploymentStore } from './store.ts';

/**
 * Turns the chain's view of contracts into engine jobs: a cancelled contract is
 * deprovisioned, a grace period pauses, its end resumes; a periodic sync with
 * ActiveNodeContracts catches anything an event stream could have missed.
 */
export class ContractEvents {
  constructor(
    private readonly store: DeploymentStore,
    private readonly queue: JobQueue,
    private readonly chain: NodeChain,
    private readonly nodeId: number,
    private readonly log: Logger,
  ) {}

  handle(ev: NodeChainEvent): void {
    if (ev.kind === 'power-target') return;
    if (ev.nodeId !== this.nodeId || !this.store.has(ev.twinId, ev.contractId)) return;
    const key = { twin: ev.twinId, contract: ev.contractId };
    const log = this.log.child(key);
    if (ev.kind === 'contract-canceled') {
      log.info('contract cancelled on chain: deprovisioning');
      this.queue.enqueue({ op: 'deprovision', ...key, message: 'contract canceled' });
    } else if (ev.kind === 'grace-started') {
      log.info('contract in grace period: pausing');
      this.queue.enqueue({ op: 'pause', ...key });
    } else {
      log.info('grace period ended: resuming');
      this.queue.enqueue({ op: 'resume', ...key });
    }
  }

  /** zos' hourly sync: deprovision what the chain no longer has; align pause state with grace periods. */
  async sync(): Promise<{ deprovisioned: number; paused: number; resumed: number }> {
    const active = new Set(await this.chain.activeNodeContracts(this.nodeId));
    const out = { deprovisioned: 0, paused: 0, resumed: 0 };
    for (const k of this.store.keys()) {
      const states = this.store.get(k.twin, k.contract).workloads.map((w) => w.result.state);
      if (!states.some(isActive)) continue;
      if (!active.has(k.contract)) {
        if (this.queue.hasPending(k.twin, k.contract, { op: 'deprovision' })) continue;
        // Asked again: a deployment that arrived after the list was read has a contract the list lacks.
        const contract = await this.chain.nodeContract(k.contract);
        if (contract && contract.state !== 'Deleted' && contract.nodeId === this.nodeId) continue;
        // Queued behind whatever is pending for it (a pause or an update would leave it running).
        this.queue.enqueue({ op: 'deprovision', ...k, message: 'contract not active on chain' });
        out.deprovisioned++;
        continue;
      }
      if (this.queue.hasPending(k.twin, k.contract)) continue;
      const contract = await this.chain.nodeContract(k.contract);
      const inGrace = contract?.state === 'GracePeriod';
      if (inGrace && states.includes('ok')) {
        this.queue.enqueue({ op: 'pause', ...k });
        out.paused++;
      } else if (!inGrace && states.includes('paused')) {
        this.queue.enqueue({ op: 'resume', ...k });
        out.resumed++;
      }
    }
    return out;
  }
}
