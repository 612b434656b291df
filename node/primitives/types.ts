import type { Logger } from '../../lib/log.ts';

/** The state a primitive reports back for a workload (zos Result.state vocabulary). */
export type ResultState = 'ok' | 'error' | 'paused' | 'deleted' | 'unchanged' | 'init';

/** Identity of a workload on this node: WorkloadID = `twin-contract-name`. */
export interface WorkloadRef {
  twin: number;
  contract: number;
  name: string;
  /** `${twin}-${contract}-${name}` */
  id: string;
}

/** What every primitive call receives besides its validated config. */
export interface PrimitiveContext {
  workload: WorkloadRef;
  log: Logger;
  signal: AbortSignal;
}

/** Thrown by provision when the thing already exists as requested ("no action needed"). */
export class NoActionNeeded extends Error {
  constructor(readonly result: unknown) {
    super('no action needed');
  }
}

/**
 * One workload type. provision/deprovision are required; the rest optional.
 * Provision is idempotent and undoes its partial work on failure. Config types
 * are the validated zod outputs from node/model; Result is what goes into
 * workload.result.data.
 */
export interface Primitive<Config, Result> {
  readonly type: string;
  provision(ctx: PrimitiveContext, config: Config): Promise<Result>;
  deprovision(ctx: PrimitiveContext, config: Config): Promise<void>;
  update?(ctx: PrimitiveContext, config: Config, previous: Config): Promise<Result>;
  pause?(ctx: PrimitiveContext, config: Config): Promise<void>;
  resume?(ctx: PrimitiveContext, config: Config): Promise<void>;
  /** Called once at node start, before any provision (e.g. to scan what exists). */
  init?(): Promise<void>;
}
