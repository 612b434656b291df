// The engine over a temp database with table primitives and a chain table (no host, no devnet):
// shared by the engine test files.
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { systemClock } from '../../../lib/clock.ts';
import { silentLogger } from '../../../lib/log.ts';
import type { NodeChain, NodeContractInfo } from '../../../node/chain-port.ts';
import { Deployments } from '../../../node/api/deployments.ts';
import { Engine, type EngineOptions } from '../../../node/engine/engine.ts';
import { Provisioner } from '../../../node/engine/provisioner.ts';
import { JobQueue } from '../../../node/engine/queue.ts';
import { DeploymentStore } from '../../../node/engine/store.ts';
import { hashHex, sign, type Deployment } from '../../../node/model/index.ts';
import { NoActionNeeded, type PrimitiveOf, type PrimitiveRegistry } from '../../../node/primitives/types.ts';
import { openDb, tempDbPath } from './engine-db.testing.ts';

await cryptoWaitReady();
const pair = new Keyring({ type: 'sr25519' }).addFromUri('//Bob');
export const TWIN = 7;
export const NODE = 3;
export const GiB = 2 ** 30;

/** Chain state as a table (contracts by id); the engine reads it through the NodeChain port. */
export class ChainTable implements NodeChain {
  contracts = new Map<number, NodeContractInfo>();
  down = false;
  async nodeContract(id: number) {
    if (this.down) throw new Error('chain unreachable');
    return this.contracts.get(id) ?? null;
  }
  async activeNodeContracts(node: number) {
    return [...this.contracts.values()].filter((c) => c.nodeId === node && c.state !== 'Deleted').map((c) => c.contractId);
  }
  async activeRentContractForNode() {
    return null;
  }
  async twinAccountId(twin: number) {
    return twin === TWIN ? pair.publicKey : null;
  }
  async farmTwinId() {
    return 1;
  }
  async reportUptime() {}
  async reportContractResources() {}
  async addNruReports() {}
}

/** A primitive that keeps its "host objects" in a map, so engine semantics can be checked without a host. */
export function tablePrimitive(objects: Map<string, number>, calls: string[]): PrimitiveOf<'volume'> {
  return {
    async provision(ctx, c) {
      calls.push(`provision ${ctx.workload.name}`);
      if (objects.get(ctx.workload.id) === c.size) throw new NoActionNeeded({ id: ctx.workload.id });
      objects.set(ctx.workload.id, c.size);
      return { id: ctx.workload.id };
    },
    async deprovision(ctx) {
      calls.push(`deprovision ${ctx.workload.name}`);
      objects.delete(ctx.workload.id);
    },
    async update(ctx, c) {
      calls.push(`update ${ctx.workload.name}`);
      objects.set(ctx.workload.id, c.size);
      return { id: ctx.workload.id };
    },
    async pause(ctx) {
      calls.push(`pause ${ctx.workload.name}`);
    },
    async resume(ctx) {
      calls.push(`resume ${ctx.workload.name}`);
    },
  };
}

/** Volumes by name and size; a name `type:name` gives another type with `{size}` data. */
export function deployment(contract: number, version: number, sizes: Record<string, number>): Deployment {
  const workload = (key: string, size: number) => {
    const [type, name] = key.includes(':') ? key.split(':') : ['volume', key];
    return { version, name, type, data: { size }, metadata: '', description: '', result: { created: 0, state: 'init', message: '', data: null } };
  };
  const dl = {
    version, twin_id: TWIN, contract_id: contract, metadata: '', description: '', expiration: 0,
    signature_requirement: { requests: [{ twin_id: TWIN, required: true, weight: 1 }], weight_required: 1, signatures: [], signature_style: '' },
    workloads: Object.entries(sizes).map(([key, size]) => workload(key, size)),
  } as Deployment;
  return sign(dl, TWIN, pair);
}

export function setup(t: TestContext, memory = 64 * GiB, extra: PrimitiveRegistry = {}) {
  const db = openDb(t, tempDbPath(t));
  const store = new DeploymentStore(db);
  const queue = new JobQueue(db, { pollMs: 20 });
  const chain = new ChainTable();
  const objects = new Map<string, number>();
  const calls: string[] = [];
  /** An engine over this database (a restarted node makes a second one over the same file). */
  const engineWith = (primitives: PrimitiveRegistry, more: Partial<EngineOptions> = {}) => {
    const provisioner = new Provisioner({ primitives, store, clock: systemClock, log: silentLogger() });
    const engine = new Engine({
      db, store, queue, chain, nodeId: NODE, clock: systemClock, log: silentLogger(), provisioner,
      capacity: { totalMru: memory, reservedMru: 2 * GiB, totalSru: 100 * GiB, reservedSru: 5 * GiB, availableMemory: () => memory },
      ...more,
    });
    t.after(() => engine.close());
    return { engine, provisioner };
  };
  const { engine, provisioner } = engineWith({ volume: tablePrimitive(objects, calls), ...extra });
  const api = new Deployments({ db, store, queue, chain, provisions: (type) => provisioner.supports(type) });
  const contract = (id: number, dl: Deployment, state: NodeContractInfo['state'] = 'Created') =>
    chain.contracts.set(id, { contractId: id, twinId: TWIN, state, nodeId: NODE, deploymentHash: hashHex(dl), publicIps: 0, publicIpsList: [] });
  const settled = async () => {
    for (let i = 0; i < 400 && queue.size() > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(queue.size(), 0, 'queue drained');
  };
  const states = (id: number) => Object.fromEntries(store.get(TWIN, id).workloads.map((w) => [w.name, w.result.state]));
  return { db, store, queue, chain, objects, calls, provisioner, engine, engineWith, api, contract, settled, states };
}

/** A started engine with deployment `id` (version 0) deployed and settled. */
export async function deployedOne(t: TestContext, id: number, sizes: Record<string, number>) {
  const g = setup(t);
  const dl = deployment(id, 0, sizes);
  g.contract(id, dl);
  g.engine.start();
  await g.api.deploy(TWIN, dl);
  await g.settled();
  return g;
}
