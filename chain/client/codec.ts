import { z } from 'zod';
import { ChainError, ChainErrorCode } from './errors.ts';
import { accountBytes, fromHex, toHex } from './scale.ts';
import type {
  Balance,
  Contract,
  Farm,
  Node,
  NodePower,
  PolicyUnit,
  PricingPolicy,
  PublicConfig,
  PublicIp,
  Twin,
} from './types.ts';

/**
 * zod schemas over polkadot-js `Codec.toJSON()` output (camelCase struct keys, hex for Bytes,
 * numbers or hex for ints, `{variantName: value}` for data enums, the name for plain enums).
 * Pure: no API access, so they are unit-tested against sample JSON.
 */

const hex = z.string().regex(/^0x([0-9a-fA-F]{2})*$/, 'expected 0x-prefixed hex bytes');

/** An unsigned int that must fit a JS number (ids, sizes, timestamps). */
export const uint = z.union([z.number().int().nonnegative(), hex]).transform((v, ctx) => {
  const n = typeof v === 'number' ? v : Number(BigInt(v === '0x' ? '0x0' : v));
  if (!Number.isSafeInteger(n)) {
    ctx.addIssue({ code: 'custom', message: `integer ${v} does not fit a JS number` });
    return z.NEVER;
  }
  return n;
});

/** A u128 balance: polkadot-js gives a number when small, a (big-endian) hex string otherwise. */
export const balance = z.union([z.number().int().nonnegative(), hex]).transform((v) => (typeof v === 'number' ? BigInt(v) : BigInt(v === '0x' ? '0x0' : v)));

export const bytes = hex.transform((v) => fromHex(v));
export const text = hex.transform((v) => new TextDecoder().decode(fromHex(v)));

/** An AccountId32: polkadot-js renders it as an SS58 address in JSON; hex is accepted too. */
export const accountId = z.string().transform((v, ctx) => {
  try {
    return accountBytes(v);
  } catch {
    // reported below
  }
  ctx.addIssue({ code: 'custom', message: `not an account id: ${v}` });
  return z.NEVER;
});

const publicIp: z.ZodType<PublicIp, unknown> = z.object({ ip: text, gateway: text, contractId: uint });

export const twinSchema: z.ZodType<Twin, unknown> = z.object({
  id: uint,
  accountId,
  relay: text.nullable(),
  entities: z.array(z.object({ entityId: uint, signature: bytes })),
  pk: bytes.nullable(),
});

export const farmSchema: z.ZodType<Farm, unknown> = z.object({
  version: uint,
  id: uint,
  name: text,
  twinId: uint,
  pricingPolicyId: uint,
  certification: z.enum(['NotCertified', 'Gold']),
  publicIps: z.array(publicIp),
  dedicatedFarm: z.boolean(),
  farmingPolicyLimits: z
    .object({
      farmingPolicyId: uint,
      cu: uint.nullable(),
      su: uint.nullable(),
      end: uint.nullable(),
      nodeCount: uint.nullable(),
      nodeCertification: z.boolean(),
    })
    .nullable(),
});

const ipGw = z.object({ ip: text, gw: text });
export const publicConfigSchema: z.ZodType<PublicConfig, unknown> = z.object({
  ip4: ipGw,
  ip6: ipGw.nullable(),
  domain: text.nullable(),
});

export const nodeSchema: z.ZodType<Node, unknown> = z.object({
  version: uint,
  id: uint,
  farmId: uint,
  twinId: uint,
  resources: z.object({ hru: uint, sru: uint, cru: uint, mru: uint }),
  location: z.object({ city: text, country: text, latitude: text, longitude: text }),
  publicConfig: publicConfigSchema.nullable(),
  created: uint,
  farmingPolicyId: uint,
  interfaces: z.array(z.object({ name: text, mac: text, ips: z.array(text) })),
  certification: z.enum(['Diy', 'Certified']),
  secureBoot: z.boolean(),
  virtualized: z.boolean(),
  serialNumber: text.nullable(),
  connectionPrice: uint,
});

const contractState = z
  .union([
    z.object({ created: z.null() }).strict(),
    z.object({ deleted: z.enum(['CanceledByUser', 'OutOfFunds', 'CanceledByCollective']) }).strict(),
    z.object({ gracePeriod: uint }).strict(),
  ])
  .transform((s): Contract['state'] => {
    if ('created' in s) return { kind: 'Created' };
    if ('deleted' in s) return { kind: 'Deleted', cause: s.deleted };
    return { kind: 'GracePeriod', sinceBlock: s.gracePeriod };
  });

const contractType = z
  .union([
    z
      .object({
        nodeContract: z.object({
          nodeId: uint,
          deploymentHash: text,
          deploymentData: text,
          publicIps: uint,
          publicIpsList: z.array(publicIp),
        }),
      })
      .strict(),
    z.object({ nameContract: z.object({ name: text }) }).strict(),
    z.object({ rentContract: z.object({ nodeId: uint }) }).strict(),
  ])
  .transform((c): Contract['contractType'] => {
    if ('nodeContract' in c) return { kind: 'NodeContract', ...c.nodeContract };
    if ('nameContract' in c) return { kind: 'NameContract', name: c.nameContract.name };
    return { kind: 'RentContract', nodeId: c.rentContract.nodeId };
  });

export const contractSchema: z.ZodType<Contract, unknown> = z.object({
  version: uint,
  state: contractState,
  contractId: uint,
  twinId: uint,
  contractType,
  solutionProviderId: uint.nullable(),
});

export const nodePowerSchema: z.ZodType<NodePower, unknown> = z.object({
  state: z
    .union([z.object({ up: z.null() }).strict(), z.object({ down: uint }).strict()])
    .transform((s): NodePower['state'] => ('up' in s ? { kind: 'Up' } : { kind: 'Down', sinceBlock: s.down })),
  target: z.enum(['Up', 'Down']),
});

/** `System.Account` (FrameSystemAccountInfo); only the balance part is surfaced. */
export const balanceSchema: z.ZodType<Balance, unknown> = z
  .object({ data: z.object({ free: balance, reserved: balance, frozen: balance }) })
  .transform((a) => a.data);

const policyUnit: z.ZodType<PolicyUnit, unknown> = z.object({
  value: uint,
  unit: z.enum(['Bytes', 'Kilobytes', 'Megabytes', 'Gigabytes', 'Terrabytes']),
});

export const pricingPolicySchema: z.ZodType<PricingPolicy, unknown> = z.object({
  version: uint,
  id: uint,
  name: text,
  su: policyUnit,
  cu: policyUnit,
  nu: policyUnit,
  ipu: policyUnit,
  uniqueName: policyUnit,
  domainName: policyUnit,
  foundationAccount: accountId,
  certifiedSalesAccount: accountId,
  discountForDedicationNodes: uint,
});

/** Parses codec JSON with a schema; a mismatch is a typed ERR_DECODE naming what was read. */
export function decode<T>(schema: z.ZodType<T, unknown>, json: unknown, what: string): T {
  const r = schema.safeParse(json);
  if (!r.success) {
    throw new ChainError(ChainErrorCode.decode, `cannot decode ${what}: ${z.prettifyError(r.error)}`, { cause: r.error });
  }
  return r.data;
}

/** The deployment hash as stored on chain: the 32 ASCII bytes of an md5 hex string (not H256). */
export const deploymentHashSchema = z
  .string()
  .regex(/^[\x21-\x7e]{32}$/, 'deployment hash must be 32 printable ASCII characters (md5 hex of the challenge)');

export function deploymentHashBytes(hash: string): Uint8Array {
  const r = deploymentHashSchema.safeParse(hash);
  if (!r.success) throw new ChainError(ChainErrorCode.badInput, r.error.issues[0]?.message ?? 'bad deployment hash');
  return new TextEncoder().encode(hash);
}

/** Validates caller input at the client boundary; a mismatch is ERR_BAD_INPUT. */
export function parseInput<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new ChainError(ChainErrorCode.badInput, `invalid ${what}: ${z.prettifyError(r.error)}`);
  return r.data;
}

/**
 * A `Bytes` call argument as hex: a text that starts with 0x must not be read as hex bytes
 * (scale.ts takes a hex string as bytes and any other string as UTF-8, as polkadot-js does).
 */
export function bytesArg(v: string | Uint8Array): `0x${string}` {
  return toHex(typeof v === 'string' ? new TextEncoder().encode(v) : v);
}
