import type { NodeChain } from '../chain-port.ts';
import { zosErrors } from '../errors.ts';
import { parseDeployment, validateDeployment, type Deployment } from '../model/deployment.ts';
import { verifySignatures } from '../model/signature.ts';
import { diffUpgrade } from '../model/upgrade.ts';
import type { JobQueue } from '../engine/queue.ts';
import type { EngineDb } from '../engine/store-db.ts';
import type { DeploymentStore } from '../engine/store.ts';
import type { KycCheck } from '../kyc.ts';
import { JsonBytes } from '../../relay-client/router.ts';
import type { DeploymentService } from './services.ts';

export interface DeploymentsOptions {
  db: EngineDb;
  store: DeploymentStore;
  queue: JobQueue;
  chain: Pick<NodeChain, 'twinAccountId'>;
  /** Whether this node provisions a workload type (the primitive registry has it). */
  provisions(type: string): boolean;
  /** The deployer's KYC check (zos checks it on deploy when the node has a KYC URL); none: no check. */
  kyc?: KycCheck;
}

const MAX_ANSWERS = 1024;

/**
 * The synchronous half of zos.deployment.{deploy,update,get,list,changes}: validate,
 * verify signatures, store, and enqueue a job. The chain contract is checked later by the
 * engine, as zos does, so deploy returns before the contract is looked at.
 */
export class Deployments implements DeploymentService {
  private readonly db: EngineDb;
  private readonly store: DeploymentStore;
  private readonly queue: JobQueue;
  private readonly chain: Pick<NodeChain, 'twinAccountId'>;
  /** zos.deployment.get answers, encoded, while the store has not changed (clients poll it). */
  private readonly answers = new Map<string, JsonBytes>();
  private answersOf = -1;

  constructor(private readonly o: DeploymentsOptions) {
    ({ db: this.db, store: this.store, queue: this.queue, chain: this.chain } = o);
  }

  private async accepted(twin: number, payload: unknown): Promise<Deployment> {
    const dl = parseDeployment(payload);
    validateDeployment(dl);
    if (dl.twin_id !== twin) throw zosErrors.twinMismatch(dl.twin_id, twin);
    // Refused here rather than failing later in the engine: nothing is stored, and the client
    // learns at once which workloads this node cannot run.
    const unsupported = dl.workloads.filter((wl) => !this.o.provisions(wl.type));
    if (unsupported.length) throw zosErrors.unsupportedWorkloads(unsupported);
    await verifySignatures(dl, async (t) => {
      const id = await this.chain.twinAccountId(t);
      if (!id) throw new Error(`twin ${t} not found`);
      return id;
    });
    return dl;
  }

  async deploy(twin: number, payload: unknown): Promise<null> {
    const dl = await this.accepted(twin, payload);
    if (this.o.kyc && !(await this.o.kyc(dl.twin_id))) throw zosErrors.notVerified(dl.twin_id);
    if (dl.version !== 0) throw zosErrors.versionNotZero();
    // One transaction: a crash can't leave a stored deployment without its (validating) job.
    this.db.transaction(() => {
      this.store.create(dl);
      this.queue.enqueue({ op: 'provision', twin: dl.twin_id, contract: dl.contract_id });
    });
    return null;
  }

  async update(twin: number, payload: unknown): Promise<null> {
    const next = await this.accepted(twin, payload);
    const stored = this.store.get(next.twin_id, next.contract_id);
    diffUpgrade(stored, next); // rejects bad upgrades synchronously with zos' texts
    this.queue.enqueue({ op: 'update', twin: next.twin_id, contract: next.contract_id, payload: next });
    return null;
  }

  /**
   * The deployment as JSON. Reading and encoding it was a tenth of a node's CPU per request, and
   * clients poll it: the encoded answer is kept until the store next changes (its generation).
   */
  async get(twin: number, contractId: number): Promise<JsonBytes> {
    const generation = this.store.generation;
    if (generation !== this.answersOf) {
      this.answers.clear();
      this.answersOf = generation;
    }
    const key = `${twin}:${contractId}`;
    let answer = this.answers.get(key);
    if (!answer) {
      answer = new JsonBytes(new TextEncoder().encode(JSON.stringify(this.store.get(twin, contractId))));
      if (generation >= 0 && this.answers.size < MAX_ANSWERS) this.answers.set(key, answer);
    }
    return answer;
  }

  async list(twin: number): Promise<Deployment[]> {
    return this.store.listActive(twin);
  }

  async changes(twin: number, contractId: number): Promise<unknown[]> {
    return this.store.changes(twin, contractId);
  }
}
