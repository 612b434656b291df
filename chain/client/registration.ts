import { z } from 'zod';
import { systemClock } from '../../lib/clock.ts';
import { bytesArg, decode, parseInput, text, uint } from './codec.ts';
import { ChainError, ChainErrorCode } from './errors.ts';
import { farm, farmIdByName, node, nodeIdByTwin, readStorage, twin, twinIdByAccount } from './queries.ts';
import { bytesEqual, Call } from './scale.ts';
import { send, type TxContext, type TxResult } from './submit.ts';
import type { ContractResources, Node, NruReport, Power, PublicConfig } from './types.ts';

/**
 * One-shot registration calls for a node or a user account. Each `ensure*` reads the chain and
 * submits only when something differs, so callers (node/registrar.ts) can run them in a loop.
 */

/** The terms zos nodes accept (pkg/registrar). */
export const ZOS_TERMS = { link: 'http://zos.tf/terms/v0.1', hash: '9021d4dee05a661e2cb6838152c67f25' } as const;

export type Ensured = 'created' | 'updated' | 'unchanged';

/**
 * The twin `relay` field for a list of relay URLs or host names: hosts only (with port when
 * given), sorted and de-duplicated so the value is stable, joined by "_".
 */
export function relayHostList(relays: readonly string[]): string {
  const hosts = relays.map((r) => {
    let host: string;
    try {
      host = r.includes('://') ? new URL(r).host : r.trim().replace(/\/+$/, '');
    } catch {
      throw new ChainError(ChainErrorCode.badInput, `invalid relay URL: ${JSON.stringify(r)}`);
    }
    if (!/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:\d+)?$/.test(host)) {
      throw new ChainError(ChainErrorCode.badInput, `invalid relay host: ${JSON.stringify(r)}`);
    }
    return host;
  });
  return [...new Set(hosts)].sort().join('_');
}


async function accountTwinId(ctx: TxContext): Promise<number> {
  const id = await twinIdByAccount(ctx.conn, ctx.pair.address);
  if (id === null) throw new ChainError(ChainErrorCode.notFound, `account ${ctx.pair.address} has no twin: create it first (ensureTwin)`);
  return id;
}

const termsList = z
  .array(z.object({ accountId: z.string(), timestamp: uint, documentLink: text, documentHash: text }))
  .nullable();

/** Accepts the terms unless this account already accepted this exact link and hash. */
export async function ensureTermsAccepted(ctx: TxContext, link: string = ZOS_TERMS.link, hash: string = ZOS_TERMS.hash): Promise<boolean> {
  const json = await readStorage(ctx.conn, 'tfgridModule', 'usersTermsAndConditions', [ctx.pair.address]);
  const accepted = decode(termsList, json, 'terms and conditions') ?? [];
  if (accepted.some((t) => t.documentLink === link && t.documentHash === hash)) return false;
  await send(ctx, new Call('tfgridModule', 'userAcceptTc', [bytesArg(link), bytesArg(hash)]));
  return true;
}

export interface TwinSpec {
  /** Relay URLs or hosts (formatted with relayHostList), an already formatted field, or null. */
  relay: readonly string[] | string | null;
  pk: Uint8Array | null;
}

/** Creates this account's twin, or updates it when relay or pk differ. */
export async function ensureTwin(ctx: TxContext, spec: TwinSpec): Promise<{ twinId: number; change: Ensured }> {
  const formatted = spec.relay === null ? null : typeof spec.relay === 'string' ? spec.relay : relayHostList(spec.relay);
  const relay = formatted === '' ? null : formatted; // no relays: unset, not an empty (invalid) relay
  const relayArg = relay === null ? null : bytesArg(relay);
  const pkArg = spec.pk === null ? null : bytesArg(spec.pk);
  const existing = await twinIdByAccount(ctx.conn, ctx.pair.address);
  if (existing === null) {
    await send(ctx, new Call('tfgridModule', 'createTwin', [relayArg, pkArg]));
    return { twinId: await accountTwinId(ctx), change: 'created' };
  }
  const current = await twin(ctx.conn, existing);
  const samePk = (a: Uint8Array | null, b: Uint8Array | null) => (a === null || b === null ? a === b : bytesEqual(a, b));
  if (current && current.relay === relay && samePk(current.pk, spec.pk)) return { twinId: existing, change: 'unchanged' };
  await send(ctx, new Call('tfgridModule', 'updateTwin', [relayArg, pkArg]));
  return { twinId: existing, change: 'updated' };
}

const farmName = z.string().regex(/^[A-Za-z0-9_-]{3,40}$/, 'farm name must be 3..40 of [A-Za-z0-9_-]');
const publicIpInput = z.array(z.object({ ip: z.string().min(1), gw: z.string().min(1) }));

/** Returns this account's farm with that name, creating it when absent. */
export async function ensureFarm(
  ctx: TxContext,
  name: string,
  publicIps: Array<{ ip: string; gw: string }> = [],
): Promise<{ farmId: number; change: Ensured }> {
  const n = parseInput(farmName, name, 'farm name');
  const ips = parseInput(publicIpInput, publicIps, 'farm public IPs');
  const twinId = await accountTwinId(ctx);
  const existing = await farmIdByName(ctx.conn, n);
  if (existing !== null) {
    const f = await farm(ctx.conn, existing);
    if (f && f.twinId !== twinId) {
      throw new ChainError('FarmExists', `farm name ${n} belongs to twin ${f.twinId}: choose another name`, { section: 'tfgridModule' });
    }
    return { farmId: existing, change: 'unchanged' };
  }
  await send(ctx, new Call('tfgridModule', 'createFarm', [bytesArg(n), ips.map((i) => ({ ip: bytesArg(i.ip), gw: bytesArg(i.gw) }))]));
  const id = await farmIdByName(ctx.conn, n);
  if (id === null) throw new ChainError(ChainErrorCode.notFound, `farm ${n} missing right after createFarm`);
  return { farmId: id, change: 'created' };
}

const u64 = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
export const nodeSpecSchema = z
  .object({
    farmId: z.number().int().positive(),
    resources: z.object({ hru: u64, sru: u64, cru: u64, mru: u64 }).strict(),
    location: z.object({ city: z.string(), country: z.string(), latitude: z.string(), longitude: z.string() }).strict(),
    interfaces: z.array(z.object({ name: z.string(), mac: z.string(), ips: z.array(z.string()) }).strict()).max(10),
    secureBoot: z.boolean(),
    virtualized: z.boolean(),
    serialNumber: z.string().nullable(),
  })
  .strict();
export type NodeSpec = z.infer<typeof nodeSpecSchema>;

/** Whether the on-chain node already matches what we would register (zos `Node.Eq`). */
export function nodeMatches(current: Node, spec: NodeSpec): boolean {
  const pick = (n: NodeSpec) => JSON.stringify([n.farmId, n.resources, n.location, n.interfaces, n.secureBoot, n.virtualized, n.serialNumber]);
  const { farmId, resources, location, interfaces, secureBoot, virtualized, serialNumber } = current;
  const r = { hru: resources.hru, sru: resources.sru, cru: resources.cru, mru: resources.mru };
  const l = { city: location.city, country: location.country, latitude: location.latitude, longitude: location.longitude };
  const i = interfaces.map((x) => ({ name: x.name, mac: x.mac, ips: x.ips }));
  return pick({ farmId, resources: r, location: l, interfaces: i, secureBoot, virtualized, serialNumber }) === pick(spec);
}

function nodeArgs(s: NodeSpec): unknown[] {
  return [
    s.resources,
    { city: bytesArg(s.location.city), country: bytesArg(s.location.country), latitude: bytesArg(s.location.latitude), longitude: bytesArg(s.location.longitude) },
    s.interfaces.map((i) => ({ name: bytesArg(i.name), mac: bytesArg(i.mac), ips: i.ips.map((ip) => bytesArg(ip)) })),
    s.secureBoot,
    s.virtualized,
    s.serialNumber === null ? null : bytesArg(s.serialNumber),
  ];
}

/** Registers this account's node, or updates it when it differs from `spec`. */
export async function ensureNode(ctx: TxContext, spec: NodeSpec): Promise<{ nodeId: number; change: Ensured }> {
  const s = parseInput(nodeSpecSchema, spec, 'node spec');
  const twinId = await accountTwinId(ctx);
  const existing = await nodeIdByTwin(ctx.conn, twinId);
  if (existing === null) {
    await send(ctx, new Call('tfgridModule', 'createNode', [s.farmId, ...nodeArgs(s)]));
    const id = await nodeIdByTwin(ctx.conn, twinId);
    if (id === null) throw new ChainError(ChainErrorCode.notFound, `node of twin ${twinId} missing right after createNode`);
    return { nodeId: id, change: 'created' };
  }
  const current = await node(ctx.conn, existing);
  if (current && nodeMatches(current, s)) return { nodeId: existing, change: 'unchanged' };
  // update_node(node_id, farm_id, resources, location, interfaces, secure_boot, virtualized, serial_number)
  await send(ctx, new Call('tfgridModule', 'updateNode', [existing, s.farmId, ...nodeArgs(s)]));
  return { nodeId: existing, change: 'updated' };
}

export function addNodePublicConfig(ctx: TxContext, farmId: number, nodeId: number, config: PublicConfig | null): Promise<TxResult> {
  const arg =
    config === null
      ? null
      : {
          ip4: { ip: bytesArg(config.ip4.ip), gw: bytesArg(config.ip4.gw) },
          ip6: config.ip6 === null ? null : { ip: bytesArg(config.ip6.ip), gw: bytesArg(config.ip6.gw) },
          domain: config.domain === null ? null : bytesArg(config.domain),
        };
  return send(ctx, new Call('tfgridModule', 'addNodePublicConfig', [farmId, nodeId, arg]));
}

/** report_uptime_v2 with our clock as the timestamp hint (the chain allows 60 s of drift). */
export function reportUptime(ctx: TxContext, uptimeSeconds: number): Promise<TxResult> {
  const up = parseInput(u64, Math.floor(uptimeSeconds), 'uptime');
  const hint = Math.floor((ctx.clock ?? systemClock).now() / 1000);
  return send(ctx, new Call('tfgridModule', 'reportUptimeV2', [up, hint]));
}

const contractResourcesInput = z.array(
  z.object({ contractId: z.number().int().positive(), used: z.object({ hru: u64, sru: u64, cru: u64, mru: u64 }) }),
);
export function reportContractResources(ctx: TxContext, reports: ContractResources[]): Promise<TxResult> {
  const r = parseInput(contractResourcesInput, reports, 'contract resources');
  return send(ctx, new Call('smartContractModule', 'reportContractResources', [r]));
}

const nruInput = z.array(z.object({ contractId: z.number().int().positive(), timestamp: u64, window: u64, nru: u64 }));
export function addNruReports(ctx: TxContext, reports: NruReport[]): Promise<TxResult> {
  return send(ctx, new Call('smartContractModule', 'addNruReports', [parseInput(nruInput, reports, 'NRU reports')]));
}

const power = z.enum(['Up', 'Down']);
export function changePowerState(ctx: TxContext, state: Power): Promise<TxResult> {
  return send(ctx, new Call('tfgridModule', 'changePowerState', [parseInput(power, state, 'power state')]));
}

/** Farmer call: asks a node of the farm to power up or down. */
export function changePowerTarget(ctx: TxContext, nodeId: number, target: Power): Promise<TxResult> {
  return send(ctx, new Call('tfgridModule', 'changePowerTarget', [nodeId, parseInput(power, target, 'power target')]));
}

export const registrationCalls = {
  ensureTermsAccepted,
  ensureTwin,
  ensureFarm,
  ensureNode,
  addNodePublicConfig,
  reportUptime,
  reportContractResources,
  addNruReports,
  changePowerState,
  changePowerTarget,
} as const;
