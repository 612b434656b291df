import type { z } from 'zod';
import type { Executive } from '../../executive/executive.ts';
import type { Runtime } from '../../runtime/runtime.ts';

/** What the RPC methods act on. */
export interface RpcBackend {
  runtime: Runtime;
  executive: Executive;
  /** Node name/version for system_name/system_version. */
  nodeName: string;
  nodeVersion: string;
}

/** Pushes one notification to the subscriber. */
export type Sink = (result: unknown) => void;

export interface MethodDef {
  params: z.ZodType<unknown[]>;
  run(params: any[], backend: RpcBackend): unknown;
}

export interface SubscriptionDef {
  params: z.ZodType<unknown[]>;
  notification: string;
  unsubscribe: string;
  /**
   * Starts the subscription; returns its teardown. `end()` closes it from the
   * server side (e.g. a watched extrinsic reached a final state).
   */
  subscribe(params: any[], backend: RpcBackend, sink: Sink, end: () => void): () => void;
}

export type MethodTable = Record<string, MethodDef>;
export type SubscriptionTable = Record<string, SubscriptionDef>;
