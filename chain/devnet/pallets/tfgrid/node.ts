/** Node calls: create/update (8, 9), public config (12), delete by the node (13) or by its farmer (26). */
import { bool, boundedVec, option, type FieldSpec } from '../../metadata/scale-info.ts';
import type { CallContext } from '../../runtime/context.ts';
import type { CallArgs, CallDecl } from '../../runtime/pallet.ts';
import { check, ensure, ensureBound, fail, flag, num, optBytesArg, signerTwinId, strictText, text, u32Arg, u64Number } from './call-kit.ts';
import { nodeToInput, publicConfigToInput, type InterfaceInfo, type LocationInfo, type NodeInfo, type PublicConfigInfo } from './model.ts';
import type { NodeChangeHooks } from './hooks.ts';
import { selectFarmingPolicy } from './policies.ts';
import { connectionPrice, getFarm, getNode, getTwin, nodeIdOfTwin, nodesOfFarm, putNode, TFGRID } from './queries.ts';
import { InterfaceInput, LocationInput, PublicConfig, Resources } from './types.ts';
import {
  LIMITS, byteLength, checkInterface, checkLocation, checkResources, isValidDomain, isValidIp4Config, isValidIp6Config,
} from './validate.ts';

const NODE_VERSION = 5;

const nodeArgs: FieldSpec[] = [
  ['resources', Resources, 'ResourcesInput'],
  ['location', LocationInput, 'LocationInput'],
  ['interfaces', boundedVec(InterfaceInput), 'InterfaceInput<T>'],
  ['secure_boot', bool, 'bool'],
  ['virtualized', bool, 'bool'],
  optBytesArg('serial_number', 'Option<SerialNumberInput>'),
];

type NodeFields = Pick<NodeInfo, 'resources' | 'location' | 'interfaces' | 'secureBoot' | 'virtualized' | 'serialNumber'>;

/** Decodes and validates the node description shared by create_node and update_node. */
function nodeFields(args: CallArgs): NodeFields {
  const r = args.resources as any;
  const resources = { hru: u64Number(r.hru, 'hru'), sru: u64Number(r.sru, 'sru'), cru: u64Number(r.cru, 'cru'), mru: u64Number(r.mru, 'mru') };
  check(checkResources(resources));
  const l = args.location as any;
  const location: LocationInfo = {
    city: strictText(l.city) ?? fail('InvalidCityName'),
    country: strictText(l.country) ?? fail('InvalidCountryName'),
    latitude: text(l.latitude),
    longitude: text(l.longitude),
  };
  check(checkLocation(location));
  const list = args.interfaces as any;
  ensureBound(list.length, LIMITS.interfaces, 'interfaces');
  const interfaces: InterfaceInfo[] = list.map((i: any) => ({ name: text(i.name), mac: text(i.mac), ips: i.ips.map(text) }));
  for (const i of interfaces) check(checkInterface(i));
  const serial = args.serial_number as any;
  const serialNumber = serial.isSome ? (strictText(serial.unwrap()) ?? fail('InvalidSerialNumber')) : null;
  if (serialNumber !== null) ensure(byteLength(serialNumber) <= LIMITS.serialNumber, 'SerialNumberTooLong');
  return { resources, location, interfaces, secureBoot: flag(args.secure_boot!), virtualized: flag(args.virtualized!), serialNumber };
}

function createNode(hooks: NodeChangeHooks, ctx: CallContext, args: CallArgs): void {
  const farmId = num(args.farm_id!);
  ensure(getFarm(ctx, farmId) !== null, 'FarmNotExists');
  const twinId = signerTwinId(ctx);
  ensure(nodeIdOfTwin(ctx, twinId) === null, 'NodeWithTwinIdExists');
  const s = ctx.store(TFGRID);
  const id = (s.json<number>('NodeID') ?? 0) + 1;
  const draft: NodeInfo = {
    version: NODE_VERSION, id, farmId, twinId, ...nodeFields(args), publicConfig: null, created: ctx.nowSeconds,
    farmingPolicyId: 0, certification: 'Diy', connectionPrice: connectionPrice(ctx),
  };
  const policy = selectFarmingPolicy(ctx, draft);
  const node: NodeInfo = { ...draft, farmingPolicyId: policy.id, certification: policy.nodeCertification };
  putNode(ctx, node);
  s.put('NodeID', [], id);
  s.put('NodeIdByTwinID', [twinId], id);
  s.put('NodesByFarmID', [farmId], [...nodesOfFarm(ctx, farmId), id]);
  hooks.nodeChanged?.(ctx, null, node);
  ctx.deposit(TFGRID, 'NodeStored', nodeToInput(node));
}

const resourcesChanged = (a: NodeInfo['resources'], b: NodeInfo['resources']) =>
  a.hru !== b.hru || a.sru !== b.sru || a.cru !== b.cru || a.mru !== b.mru;

function updateNode(hooks: NodeChangeHooks, ctx: CallContext, args: CallArgs): void {
  const nodeId = num(args.node_id!);
  const node = getNode(ctx, nodeId) ?? fail('NodeNotExists');
  ensure(node.twinId === signerTwinId(ctx), 'NodeUpdateNotAuthorized');
  const farmId = num(args.farm_id!);
  ensure(getFarm(ctx, farmId) !== null, 'FarmNotExists');
  if (node.farmId !== farmId) {
    ctx.store(TFGRID).put('NodesByFarmID', [node.farmId], nodesOfFarm(ctx, node.farmId).filter((id) => id !== nodeId));
    ctx.store(TFGRID).put('NodesByFarmID', [farmId], [...nodesOfFarm(ctx, farmId), nodeId]);
  }
  const fields = nodeFields(args);
  let certification = node.certification;
  // A certified node that changes its resources falls back to DIY.
  if (certification === 'Certified' && resourcesChanged(node.resources, fields.resources)) {
    certification = 'Diy';
    ctx.deposit(TFGRID, 'NodeCertificationSet', [nodeId, certification]);
  }
  const updated: NodeInfo = { ...node, ...fields, farmId, certification };
  putNode(ctx, updated);
  hooks.nodeChanged?.(ctx, node, updated);
  ctx.deposit(TFGRID, 'NodeUpdated', nodeToInput(updated));
}

function publicConfigOf(arg: any): PublicConfigInfo | null {
  if (!arg.isSome) return null;
  const c = arg.unwrap();
  const config: PublicConfigInfo = {
    ip4: { ip: text(c.ip4.ip), gw: text(c.ip4.gw) },
    ip6: c.ip6.isSome ? { ip: text(c.ip6.unwrap().ip), gw: text(c.ip6.unwrap().gw) } : null,
    domain: c.domain.isSome ? text(c.domain.unwrap()) : null,
  };
  const valid =
    (config.domain === null || isValidDomain(config.domain)) &&
    isValidIp4Config(config.ip4.ip, config.ip4.gw) &&
    (config.ip6 === null || isValidIp6Config(config.ip6.ip, config.ip6.gw));
  ensure(valid, 'InvalidPublicConfig');
  return config;
}

function addNodePublicConfig(ctx: CallContext, args: CallArgs): void {
  const farmId = num(args.farm_id!);
  const farm = getFarm(ctx, farmId) ?? fail('FarmNotExists');
  const farmer = getTwin(ctx, farm.twinId) ?? fail('TwinNotExists');
  ensure(farmer.accountId === ctx.signer().toLowerCase(), 'CannotUpdateFarmWrongTwin');
  const nodeId = num(args.node_id!);
  const node = getNode(ctx, nodeId) ?? fail('NodeNotExists');
  ensure(node.farmId === farmId, 'NodeUpdateNotAuthorized');
  const publicConfig = publicConfigOf(args.public_config);
  putNode(ctx, { ...node, publicConfig });
  ctx.deposit(TFGRID, 'NodePublicConfigStored', [nodeId, publicConfigToInput(publicConfig)]);
}

/** Removes a node from storage and its farm's list, after telling the hooks. */
function removeNode(hooks: NodeChangeHooks, ctx: CallContext, node: NodeInfo): void {
  const s = ctx.store(TFGRID);
  s.put('NodesByFarmID', [node.farmId], nodesOfFarm(ctx, node.farmId).filter((id) => id !== node.id));
  hooks.nodeDeleted?.(ctx, node);
  s.remove('Nodes', node.id);
  s.remove('NodeIdByTwinID', node.twinId);
  ctx.deposit(TFGRID, 'NodeDeleted', node.id);
}

function deleteNode(hooks: NodeChangeHooks, ctx: CallContext, args: CallArgs): void {
  const node = getNode(ctx, num(args.node_id!)) ?? fail('NodeNotExists');
  ensure(node.twinId === signerTwinId(ctx), 'NodeUpdateNotAuthorized');
  ensure(nodesOfFarm(ctx, node.farmId).includes(node.id), 'NodeNotExists');
  removeNode(hooks, ctx, node);
}

function deleteNodeFarm(hooks: NodeChangeHooks, ctx: CallContext, args: CallArgs): void {
  const twinId = signerTwinId(ctx);
  const node = getNode(ctx, num(args.node_id!)) ?? fail('NodeNotExists');
  const farm = getFarm(ctx, node.farmId) ?? fail('FarmNotExists');
  ensure(farm.twinId === twinId, 'FarmerNotAuthorized');
  removeNode(hooks, ctx, node);
}

export const nodeCalls = (hooks: NodeChangeHooks): CallDecl[] => [
  { name: 'create_node', index: 8, args: [u32Arg('farm_id'), ...nodeArgs], run: (ctx, a) => createNode(hooks, ctx, a) },
  // update_node is refunded (Pays::No) in tfchain.
  {
    name: 'update_node', index: 9, args: [u32Arg('node_id'), u32Arg('farm_id'), ...nodeArgs], paysFee: false,
    run: (ctx, a) => updateNode(hooks, ctx, a),
  },
  {
    name: 'add_node_public_config', index: 12,
    args: [u32Arg('farm_id'), u32Arg('node_id'), ['public_config', option(PublicConfig), 'Option<PublicConfig>']],
    run: addNodePublicConfig,
  },
  { name: 'delete_node', index: 13, args: [u32Arg('node_id')], run: (ctx, a) => deleteNode(hooks, ctx, a) },
  { name: 'delete_node_farm', index: 26, args: [u32Arg('node_id')], run: (ctx, a) => deleteNodeFarm(hooks, ctx, a) },
];
