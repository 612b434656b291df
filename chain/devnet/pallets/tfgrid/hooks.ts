/**
 * What other pallets learn about node changes, as tfchain's `T::NodeChanged`
 * (SmartContractModule implements it: a deleted node's contracts are cancelled,
 * a node coming back Up restarts its rent contract's billing lock). Injected into
 * tfgridPallet() so this pallet does not import its consumers.
 */
import type { HookContext } from '../../runtime/context.ts';
import type { NodeInfo } from './model.ts';

export interface NodeChangeHooks {
  /** After create_node (previous = null) and update_node. */
  nodeChanged?(ctx: HookContext, previous: NodeInfo | null, node: NodeInfo): void;
  /** Before the node leaves storage (delete_node, delete_node_farm). */
  nodeDeleted?(ctx: HookContext, node: NodeInfo): void;
  /** After change_power_state changed the node's state. */
  nodePowerStateChanged?(ctx: HookContext, node: NodeInfo): void;
}
