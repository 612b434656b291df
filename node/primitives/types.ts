// The seam between the engine and the workload types. A primitive sees validated config typed
// from node/model, a read-only view of its deployment, and the host services it was built with.
import type { Logger } from '../../lib/log.ts';
import type { DeploymentKey } from '../model/ids.ts';
import type { WorkloadData, WorkloadResult, WorkloadType } from '../model/types.ts';
import type { ResultState } from '../model/workload.ts';

/** Which workload a call is about; `id` is zos' WorkloadID `twin-contract-name`, the name of its host objects. */
export interface WorkloadIdentity extends DeploymentKey {
  name: string;
  id: string;
}

/** A stored workload as a primitive sees it: its validated data and its current state. */
export interface StoredWorkload<Config, Result> {
  readonly workload: WorkloadIdentity;
  readonly data: Config;
  readonly state: ResultState;
  /** `result.data` as its primitive returned it; null before it ran or when it failed. */
  readonly result: Result | null;
}

/** A stored workload of type T, with `type` to tell types apart. */
export interface WorkloadState<T extends WorkloadType> extends StoredWorkload<WorkloadData<T>, WorkloadResult<T>> {
  readonly type: T;
}

/** A WorkloadState of one of the types in T, discriminated by `type`. */
export type WorkloadStateOf<T extends WorkloadType = WorkloadType> = T extends WorkloadType ? WorkloadState<T> : never;

/**
 * Read-only view of the deployment a workload belongs to, read when called: a workload installed
 * earlier in the same job (installOrder: disks, networks, IPs, then machines) shows its result.
 * Includes the calling workload itself (its last recorded state).
 */
export interface DeploymentView {
  readonly key: DeploymentKey;
  /** Every workload still in the deployment (not deleted). */
  list(): WorkloadStateOf[];
  get(name: string): WorkloadStateOf | undefined;
  byType<T extends WorkloadType>(...types: T[]): WorkloadStateOf<T>[];
  /**
   * The twin's network (or network-light) of this name, which may live in another deployment of the
   * same twin (grid clients deploy networks and machines separately; names are unique per twin).
   */
  network(name: string): WorkloadStateOf<'network' | 'network-light'> | undefined;
}

/** What every primitive call receives besides its validated config. */
export interface PrimitiveContext {
  workload: WorkloadIdentity;
  deployment: DeploymentView;
  log: Logger;
  signal: AbortSignal;
}

/** What init() receives: the workloads of its type the node believes exist (state ok or paused). */
export interface InitContext<Config, Result> {
  workloads: readonly StoredWorkload<Config, Result>[];
  log: Logger;
  signal: AbortSignal;
}

/**
 * What idle() receives: as init, the workloads of its type that hold resources, and what else it
 * may need to tidy up safely between jobs.
 */
export interface IdleContext<Config, Result> extends InitContext<Config, Result> {
  /** Every workload of any type that holds resources on the node: its id and type. */
  holding: ReadonlyMap<string, WorkloadType>;
  /** True once a job is waiting: stop at the next step (the rest waits for the next idle period). */
  busy(): boolean;
  /** Counts the engine's idle periods: work several primitives share runs once per period. */
  period: number;
}

/** Thrown by provision when the thing already exists as requested ("no action needed"). */
export class NoActionNeeded extends Error {
  constructor(readonly result: unknown) {
    super('no action needed');
  }
}

/**
 * One workload type. To add a type:
 * 1. its model (schema, challenge, capacity, result type in WorkloadResults) is in node/model/;
 * 2. write `node/primitives/<type>/index.ts` exporting a factory `(host services) => PrimitiveOf<'<type>'>`,
 *    host code (processes, namespaces, files) in `node/host/<area>/`, given to the factory as an interface;
 * 3. add it to the literal registry in `node/primitives/index.ts` (and the host to `node/host/index.ts`).
 * The node then provisions it and lists it in `zos.system.node_features_get`; until then a
 * deployment holding it is refused.
 *
 * Rules: provision is idempotent (throw NoActionNeeded when it exists as asked) and undoes its own
 * partial work on failure; deprovision of something missing is not an error; errors' messages go to
 * the workload result as they are. update/pause/resume are optional (the model says which a type
 * accepts). init runs once at node start, before stored deployments are replayed: adopt what still
 * runs (VMs, wireguard-go, namespaces) and drop what no workload owns; a failure is logged and the
 * replay still runs (provision is idempotent and will report the error on the workload). idle runs
 * in the engine's job loop once the queue is empty after jobs ran (and once after start), so no
 * other call of any primitive runs meanwhile: collect what no workload uses; a failure is logged.
 */
export interface Primitive<Config, Result> {
  provision(ctx: PrimitiveContext, config: Config): Promise<Result>;
  deprovision(ctx: PrimitiveContext, config: Config): Promise<void>;
  update?(ctx: PrimitiveContext, config: Config, previous: Config): Promise<Result>;
  pause?(ctx: PrimitiveContext, config: Config): Promise<void>;
  resume?(ctx: PrimitiveContext, config: Config): Promise<void>;
  init?(ctx: InitContext<Config, Result>): Promise<void>;
  idle?(ctx: IdleContext<Config, Result>): Promise<void>;
}

/** The primitive of workload type T: its config and result types come from node/model. */
export type PrimitiveOf<T extends WorkloadType> = Primitive<WorkloadData<T>, WorkloadResult<T>>;

/** The primitives a node runs, keyed by workload type (node/primitives/index.ts builds it). */
export type PrimitiveRegistry = { readonly [T in WorkloadType]?: PrimitiveOf<T> };
