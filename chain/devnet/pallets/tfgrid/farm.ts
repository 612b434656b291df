/** Farm calls: create/update, payout address, public IPs, and the root-only certification/dedication/policy calls. */
import { bool, boundedVec, option, type FieldSpec } from '../../metadata/scale-info.ts';
import type { CallContext } from '../../runtime/context.ts';
import type { CallArgs, CallDecl } from '../../runtime/pallet.ts';
import { bytesArg, check, ensure, ensureBound, fail, flag, num, signerTwinId, text, u32Arg, variant, vecArg } from './call-kit.ts';
import { bytesOf, farmToInput, nodeToInput, type FarmCertificationName, type FarmInfo, type PublicIpInfo } from './model.ts';
import { selectFarmingPolicy } from './policies.ts';
import { getFarm, getFarmingPolicy, getNode, getTwin, nodesOfFarm, putFarm, putNode, TFGRID, twinIdOf } from './queries.ts';
import { FarmCertification, FarmingPolicyLimit, IP4 } from './types.ts';
import { LIMITS, byteLength, checkFarmName, isValidIp4Config } from './validate.ts';

const FARM_VERSION = 4;
/** MaxFarmPublicIps bounds the create_farm input; the stored list holds LIMITS.farmPublicIps. */
const MAX_PUBLIC_IPS_INPUT = 512;
const farmNameArg: FieldSpec = bytesArg('name', 'FarmNameInput<T>');
const ipArg = bytesArg('ip', 'Ip4Input');

function farmName(args: CallArgs): string {
  const name = text(args.name!);
  ensureBound(byteLength(name), LIMITS.farmName[1], 'farm name');
  return name;
}

/** The farm, provided the signer owns it through the farm's twin (CannotUpdateFarmWrongTwin). */
function ownedFarm(ctx: CallContext, farmId: number): FarmInfo {
  const farm = getFarm(ctx, farmId) ?? fail('FarmNotExists');
  const twin = getTwin(ctx, farm.twinId) ?? fail('TwinNotExists');
  ensure(twin.accountId === ctx.signer().toLowerCase(), 'CannotUpdateFarmWrongTwin');
  return farm;
}

function storeFarm(ctx: CallContext, farm: FarmInfo, event: 'FarmStored' | 'FarmUpdated' = 'FarmUpdated'): void {
  putFarm(ctx, farm);
  ctx.deposit(TFGRID, event, farmToInput(farm));
}

function createFarm(ctx: CallContext, args: CallArgs): void {
  const account = ctx.signer();
  const twinId = twinIdOf(ctx, account) ?? fail('TwinNotExists');
  const twin = getTwin(ctx, twinId) ?? fail('TwinNotExists');
  ensure(twin.accountId === account.toLowerCase(), 'CannotCreateFarmWrongTwin');
  const name = farmName(args);
  const s = ctx.store(TFGRID);
  ensure(!s.has('FarmIdByName', bytesOf(name)), 'FarmExists');
  check(checkFarmName(name));
  const input = args.public_ips as any;
  ensureBound(input.length, MAX_PUBLIC_IPS_INPUT, 'public_ips');
  const publicIps: PublicIpInfo[] = [];
  for (const entry of input) {
    const ip = text(entry.ip);
    const gateway = text(entry.gw);
    ensure(isValidIp4Config(ip, gateway), 'InvalidPublicIP');
    ensure(!publicIps.some((p) => p.ip === ip && p.gateway === gateway), 'IpExists');
    ensure(publicIps.length < LIMITS.farmPublicIps, 'InvalidPublicIP');
    publicIps.push({ ip, gateway, contractId: 0 });
  }
  const id = (s.json<number>('FarmID') ?? 0) + 1;
  const farm: FarmInfo = {
    version: FARM_VERSION, id, name, twinId, pricingPolicyId: 1, certification: 'NotCertified',
    publicIps, dedicatedFarm: false, farmingPolicyLimits: null,
  };
  s.put('FarmIdByName', [bytesOf(name)], id);
  s.put('FarmID', [], id);
  storeFarm(ctx, farm, 'FarmStored');
}

function updateFarm(ctx: CallContext, args: CallArgs): void {
  const twinId = signerTwinId(ctx);
  const farmId = num(args.farm_id!);
  const farm = getFarm(ctx, farmId) ?? fail('FarmNotExists');
  ensure(farm.twinId === twinId, 'CannotUpdateFarmWrongTwin');
  const name = farmName(args);
  check(checkFarmName(name));
  const s = ctx.store(TFGRID);
  const existing = s.has('FarmIdByName', bytesOf(name)) ? s.json<number>('FarmIdByName', bytesOf(name)) : null;
  if (existing === farmId) return;
  ensure(existing === null, 'InvalidFarmName');
  s.remove('FarmIdByName', bytesOf(farm.name));
  s.put('FarmIdByName', [bytesOf(name)], farmId);
  storeFarm(ctx, { ...farm, name });
}

function addStellarPayoutV2Address(ctx: CallContext, args: CallArgs): void {
  const twinId = signerTwinId(ctx);
  const farmId = num(args.farm_id!);
  const farm = getFarm(ctx, farmId) ?? fail('FarmNotExists');
  ensure(farm.twinId === twinId, 'CannotUpdateFarmWrongTwin');
  const address = (args.stellar_address as any).toHex();
  ctx.store(TFGRID).put('FarmPayoutV2AddressByFarmID', [farmId], address);
  ctx.deposit(TFGRID, 'FarmPayoutV2AddressRegistered', [farmId, address]);
}

function addFarmIp(ctx: CallContext, args: CallArgs): void {
  const farm = ownedFarm(ctx, num(args.farm_id!));
  const ip = text(args.ip!);
  const gateway = text(args.gw!);
  ensure(isValidIp4Config(ip, gateway), 'InvalidPublicIP');
  ensure(!farm.publicIps.some((p) => p.ip === ip), 'IpExists');
  ensure(farm.publicIps.length < LIMITS.farmPublicIps, 'InvalidPublicIP');
  storeFarm(ctx, { ...farm, publicIps: [...farm.publicIps, { ip, gateway, contractId: 0 }] });
}

/** Only a free IP (contractId 0) can be removed; a reserved one reports IpNotExists, as in tfchain. */
function removeFarmIp(ctx: CallContext, args: CallArgs): void {
  const farm = ownedFarm(ctx, num(args.farm_id!));
  const ip = text(args.ip!);
  const index = farm.publicIps.findIndex((p) => p.ip === ip && p.contractId === 0);
  ensure(index >= 0, 'IpNotExists');
  storeFarm(ctx, { ...farm, publicIps: farm.publicIps.filter((_, i) => i !== index) });
}

function setFarmCertification(ctx: CallContext, args: CallArgs): void {
  const farmId = num(args.farm_id!);
  const farm = getFarm(ctx, farmId) ?? fail('FarmNotExists');
  const certification = variant<FarmCertificationName>(args.certification!);
  putFarm(ctx, { ...farm, certification });
  ctx.deposit(TFGRID, 'FarmCertificationSet', [farmId, certification]);
}

function setFarmDedicated(ctx: CallContext, args: CallArgs): void {
  const farm = getFarm(ctx, num(args.farm_id!)) ?? fail('FarmNotExists');
  storeFarm(ctx, { ...farm, dedicatedFarm: flag(args.dedicated!) });
}

function forceResetFarmIp(ctx: CallContext, args: CallArgs): void {
  const farm = getFarm(ctx, num(args.farm_id!)) ?? fail('FarmNotExists');
  const ip = text(args.ip!);
  ensure(farm.publicIps.some((p) => p.ip === ip), 'IpNotExists');
  storeFarm(ctx, { ...farm, publicIps: farm.publicIps.map((p) => (p.ip === ip ? { ...p, contractId: 0 } : p)) });
}

/** Attaches a farming policy with limits; nodes on a default policy are re-evaluated. */
function attachPolicyToFarm(ctx: CallContext, args: CallArgs): void {
  const limitsArg = args.limits as any;
  if (!limitsArg.isSome) return;
  const limits = limitsArg.unwrap().toJSON();
  const policy = getFarmingPolicy(ctx, limits.farmingPolicyId);
  const policyEnd = policy?.policyEnd ?? 0;
  ensure(policyEnd === 0 || ctx.blockNumber < (policy?.policyCreated ?? 0) + policyEnd, 'FarmingPolicyExpired');
  const farmId = num(args.farm_id!);
  const farm = getFarm(ctx, farmId) ?? fail('FarmNotExists');
  storeFarm(ctx, { ...farm, farmingPolicyLimits: limits, certification: policy?.farmCertification ?? 'NotCertified' });
  for (const nodeId of nodesOfFarm(ctx, farmId)) {
    const node = getNode(ctx, nodeId);
    if (!node || !getFarmingPolicy(ctx, node.farmingPolicyId)?.default) continue;
    const chosen = selectFarmingPolicy(ctx, node);
    const updated = { ...node, farmingPolicyId: chosen.id, certification: chosen.nodeCertification };
    putNode(ctx, updated);
    ctx.deposit(TFGRID, 'NodeUpdated', nodeToInput(updated));
  }
  ctx.deposit(TFGRID, 'FarmingPolicySet', [farmId, limits]);
}

export const farmCalls: CallDecl[] = [
  { name: 'create_farm', index: 1, args: [farmNameArg, ['public_ips', boundedVec(IP4), 'PublicIpListInput<T>']], run: createFarm },
  { name: 'update_farm', index: 2, args: [u32Arg('farm_id'), farmNameArg], run: updateFarm },
  { name: 'add_stellar_payout_v2address', index: 3, args: [u32Arg('farm_id'), vecArg('stellar_address')], run: addStellarPayoutV2Address },
  {
    name: 'set_farm_certification', index: 4, root: true,
    args: [u32Arg('farm_id'), ['certification', FarmCertification, 'FarmCertification']], run: setFarmCertification,
  },
  { name: 'add_farm_ip', index: 5, args: [u32Arg('farm_id'), ipArg, bytesArg('gw', 'Gw4Input')], run: addFarmIp },
  { name: 'remove_farm_ip', index: 6, args: [u32Arg('farm_id'), ipArg], run: removeFarmIp },
  { name: 'set_farm_dedicated', index: 27, root: true, args: [u32Arg('farm_id'), ['dedicated', bool, 'bool']], run: setFarmDedicated },
  { name: 'force_reset_farm_ip', index: 28, root: true, args: [u32Arg('farm_id'), ipArg], run: forceResetFarmIp },
  {
    name: 'attach_policy_to_farm', index: 33, root: true,
    args: [u32Arg('farm_id'), ['limits', option(FarmingPolicyLimit), 'Option<FarmingPolicyLimit>']], run: attachPolicyToFarm,
  },
];
