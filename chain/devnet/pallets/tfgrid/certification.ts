/** Node certification (10, by root or an allowed certifier) and the certifier list (30, 31, root). */
import { AccountId32 } from '../../metadata/common-types.ts';
import type { CallContext } from '../../runtime/context.ts';
import type { CallArgs, CallDecl } from '../../runtime/pallet.ts';
import { ensure, fail, num, u32Arg, variant } from './call-kit.ts';
import { nodeToInput, type NodeCertificationName } from './model.ts';
import { selectFarmingPolicy } from './policies.ts';
import { getFarmingPolicy, getNode, putNode, TFGRID } from './queries.ts';
import { NodeCertification } from './types.ts';

/** AllowedNodeCertifiers as hex accounts, or null when never set. */
function certifiers(ctx: CallContext): string[] | null {
  const list = ctx.store(TFGRID).get('AllowedNodeCertifiers') as any;
  return list === null ? null : list.map((a: any) => a.toHex());
}

function setNodeCertification(ctx: CallContext, args: CallArgs): void {
  if (ctx.origin.kind !== 'root') ensure((certifiers(ctx) ?? []).includes(ctx.signer().toLowerCase()), 'NotAllowedToCertifyNode');
  const nodeId = num(args.node_id!);
  const node = getNode(ctx, nodeId) ?? fail('NodeNotExists');
  const certification = variant<NodeCertificationName>(args.node_certification!);
  let updated = { ...node, certification };
  if (getFarmingPolicy(ctx, node.farmingPolicyId)?.default) updated = { ...updated, farmingPolicyId: selectFarmingPolicy(ctx, updated).id };
  putNode(ctx, updated);
  ctx.deposit(TFGRID, 'NodeUpdated', nodeToInput(updated));
  ctx.deposit(TFGRID, 'NodeCertificationSet', [nodeId, certification]);
}

/** Certifiers are kept sorted by account bytes, as tfchain's binary-search insert does. */
function addNodeCertifier(ctx: CallContext, args: CallArgs): void {
  const certifier = args.certifier!.toHex();
  const list = certifiers(ctx) ?? [];
  ensure(!list.includes(certifier), 'AlreadyCertifier');
  ctx.store(TFGRID).put('AllowedNodeCertifiers', [], [...list, certifier].sort());
  ctx.deposit(TFGRID, 'NodeCertifierAdded', certifier);
}

function removeNodeCertifier(ctx: CallContext, args: CallArgs): void {
  const list = certifiers(ctx);
  if (list === null) return;
  const certifier = args.certifier!.toHex();
  ensure(list.includes(certifier), 'NotCertifier');
  ctx.store(TFGRID).put('AllowedNodeCertifiers', [], list.filter((a) => a !== certifier));
  ctx.deposit(TFGRID, 'NodeCertifierRemoved', certifier);
}

export const certificationCalls: CallDecl[] = [
  {
    name: 'set_node_certification', index: 10,
    args: [u32Arg('node_id'), ['node_certification', NodeCertification, 'NodeCertification']], run: setNodeCertification,
  },
  { name: 'add_node_certifier', index: 30, root: true, args: [['certifier', AccountId32, 'T::AccountId']], run: addNodeCertifier },
  { name: 'remove_node_certifier', index: 31, root: true, args: [['certifier', AccountId32, 'T::AccountId']], run: removeNodeCertifier },
];
