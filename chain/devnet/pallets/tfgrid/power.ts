/** Uptime reports (11, 38) and power management (35 by the node, 36 by its farmer). */
import { u64 } from '../../metadata/scale-info.ts';
import type { CallContext } from '../../runtime/context.ts';
import type { CallArgs, CallDecl } from '../../runtime/pallet.ts';
import { ensure, fail, num, signerTwinId, u32Arg, variant } from './call-kit.ts';
import type { NodeChangeHooks } from './hooks.ts';
import type { PowerName, PowerStateValue } from './model.ts';
import { getFarm, getNode, nodeIdOfTwin, nodePower, putNodePower, TFGRID } from './queries.ts';
import { Power } from './types.ts';
import { isTimestampHintValid } from './validate.ts';

/** The node registered by the signer's twin. */
function signerNode(ctx: CallContext) {
  const nodeId = nodeIdOfTwin(ctx, signerTwinId(ctx)) ?? fail('NodeNotExists');
  return getNode(ctx, nodeId) ?? fail('NodeNotExists');
}

function reportUptime(ctx: CallContext, uptime: bigint, hint: bigint): void {
  const node = signerNode(ctx);
  ensure(isTimestampHintValid(hint, ctx.nowSeconds), 'InvalidTimestampHint');
  ctx.deposit(TFGRID, 'NodeUptimeReported', [node.id, ctx.nowSeconds, uptime]);
}

const sameState = (a: PowerStateValue, b: PowerStateValue): boolean =>
  a === 'Up' ? b === 'Up' : b !== 'Up' && a.Down === b.Down;

function changePowerState(hooks: NodeChangeHooks, ctx: CallContext, args: CallArgs): void {
  const node = signerNode(ctx);
  const state: PowerStateValue = variant<PowerName>(args.power_state!) === 'Up' ? 'Up' : { Down: ctx.blockNumber };
  const power = nodePower(ctx, node.id);
  if (sameState(power.state, state)) return;
  putNodePower(ctx, node.id, { ...power, state });
  hooks.nodePowerStateChanged?.(ctx, node);
  ctx.deposit(TFGRID, 'PowerStateChanged', { farmId: node.farmId, nodeId: node.id, powerState: state });
}

/**
 * Whether SmartContractModule has contracts on the node (node contracts or a rent
 * contract). Without that pallet or its storage, a node has none.
 */
function nodeHasActiveContracts(ctx: CallContext, nodeId: number): boolean {
  const decl = ctx.runtime.pallets.get('SmartContractModule');
  const items = new Set((decl?.storage ?? []).map((s) => s.name));
  const contracts = ctx.store('SmartContractModule');
  if (items.has('ActiveNodeContracts') && (contracts.json<unknown[]>('ActiveNodeContracts', nodeId) ?? []).length > 0) return true;
  return items.has('ActiveRentContractForNode') && contracts.has('ActiveRentContractForNode', nodeId);
}

function changePowerTarget(ctx: CallContext, args: CallArgs): void {
  const twinId = signerTwinId(ctx);
  const nodeId = num(args.node_id!);
  const node = getNode(ctx, nodeId) ?? fail('NodeNotExists');
  const farm = getFarm(ctx, node.farmId) ?? fail('FarmNotExists');
  ensure(farm.twinId === twinId, 'UnauthorizedToChangePowerTarget');
  const target = variant<PowerName>(args.power_target!);
  if (target === 'Down') ensure(!nodeHasActiveContracts(ctx, nodeId), 'NodeHasActiveContracts');
  putNodePower(ctx, nodeId, { ...nodePower(ctx, nodeId), target });
  ctx.deposit(TFGRID, 'PowerTargetChanged', { farmId: node.farmId, nodeId, powerTarget: target });
}

export const powerCalls = (hooks: NodeChangeHooks): CallDecl[] => [
  {
    name: 'report_uptime', index: 11, args: [['uptime', u64, 'u64']], paysFee: false,
    run: (ctx, a) => reportUptime(ctx, (a.uptime as any).toBigInt(), BigInt(ctx.nowSeconds)),
  },
  {
    name: 'change_power_state', index: 35, args: [['power_state', Power, 'Power']], paysFee: false,
    run: (ctx, a) => changePowerState(hooks, ctx, a),
  },
  { name: 'change_power_target', index: 36, args: [u32Arg('node_id'), ['power_target', Power, 'Power']], run: changePowerTarget },
  {
    name: 'report_uptime_v2', index: 38, args: [['uptime', u64, 'u64'], ['timestamp_hint', u64, 'u64']], paysFee: false,
    run: (ctx, a) => reportUptime(ctx, (a.uptime as any).toBigInt(), (a.timestamp_hint as any).toBigInt()),
  },
];
