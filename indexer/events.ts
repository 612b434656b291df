import { z } from 'zod';
import { balance, contractSchema, decode, farmSchema, nodeSchema, pricingPolicySchema, publicConfigSchema, text, twinSchema, uint } from '../chain/client/codec.ts';
import type { Contract, Farm, Node, PricingPolicy, PublicConfig, Resources, Twin } from '../chain/client/types.ts';

/**
 * The tfchain events the indexer follows (indexer-apis §3.2 "Events → entities"), decoded from
 * polkadot-js JSON (positional fields). Pure: no I/O, so it is tested with sample JSON.
 */
export type IndexerEvent =
  | { kind: 'TwinStored' | 'TwinUpdated'; twin: Twin }
  | { kind: 'TwinDeleted'; twinId: number }
  | { kind: 'FarmStored' | 'FarmUpdated'; farm: Farm }
  | { kind: 'FarmDeleted'; farmId: number }
  | { kind: 'FarmPayoutV2AddressRegistered'; farmId: number; address: string }
  | { kind: 'FarmCertificationSet'; farmId: number; certification: 'NotCertified' | 'Gold' }
  | { kind: 'FarmMarkedAsDedicated'; farmId: number }
  | { kind: 'PricingPolicyStored'; policy: PricingPolicy }
  | { kind: 'NodeStored' | 'NodeUpdated'; node: Node }
  | { kind: 'NodeDeleted'; nodeId: number }
  | { kind: 'NodeUptimeReported'; nodeId: number; now: number; uptime: number }
  | { kind: 'NodePublicConfigStored'; nodeId: number; config: PublicConfig | null }
  | { kind: 'NodeCertificationSet'; nodeId: number; certification: 'Diy' | 'Certified' }
  | { kind: 'PowerTargetChanged'; nodeId: number; target: 'Up' | 'Down' }
  | { kind: 'PowerStateChanged'; nodeId: number; state: 'Up' | 'Down' }
  | { kind: 'ContractCreated' | 'ContractUpdated'; contract: Contract }
  | { kind: 'NodeContractCanceled' | 'NameContractCanceled' | 'RentContractCanceled'; contractId: number }
  | { kind: 'IPsFreed'; contractId: number }
  | { kind: 'ContractGracePeriodStarted' | 'ContractGracePeriodEnded'; contractId: number }
  | { kind: 'UpdatedUsedResources'; contractId: number; used: Resources }
  | { kind: 'ContractBilled'; contractId: number; timestamp: number; discountLevel: string; amountBilled: bigint }
  | { kind: 'NodeExtraFeeSet'; nodeId: number; extraFee: number };

export type IndexerEventKind = IndexerEvent['kind'];

const one = <T>(schema: z.ZodType<T, unknown>) => z.tuple([schema]).transform((t) => t[0]);
const power = z.enum(['Up', 'Down']);
const powerState = z.union([z.object({ up: z.null() }).strict(), z.object({ down: uint }).strict()]).transform((s) => ('up' in s ? 'Up' : 'Down') as 'Up' | 'Down');
const resources = z.object({ hru: uint, sru: uint, cru: uint, mru: uint });

type Decoder = (d: unknown[], what: string) => IndexerEvent;

const decoders: Record<string, Decoder> = {
  'tfgridModule.TwinStored': (d, w) => ({ kind: 'TwinStored', twin: decode(one(twinSchema), d, w) }),
  'tfgridModule.TwinUpdated': (d, w) => ({ kind: 'TwinUpdated', twin: decode(one(twinSchema), d, w) }),
  'tfgridModule.TwinDeleted': (d, w) => ({ kind: 'TwinDeleted', twinId: decode(one(uint), d, w) }),
  'tfgridModule.FarmStored': (d, w) => ({ kind: 'FarmStored', farm: decode(one(farmSchema), d, w) }),
  'tfgridModule.FarmUpdated': (d, w) => ({ kind: 'FarmUpdated', farm: decode(one(farmSchema), d, w) }),
  'tfgridModule.FarmDeleted': (d, w) => ({ kind: 'FarmDeleted', farmId: decode(one(uint), d, w) }),
  'tfgridModule.FarmPayoutV2AddressRegistered': (d, w) => {
    const [farmId, address] = decode(z.tuple([uint, text]), d, w);
    return { kind: 'FarmPayoutV2AddressRegistered', farmId, address };
  },
  'tfgridModule.FarmCertificationSet': (d, w) => {
    const [farmId, certification] = decode(z.tuple([uint, z.enum(['NotCertified', 'Gold'])]), d, w);
    return { kind: 'FarmCertificationSet', farmId, certification };
  },
  'tfgridModule.FarmMarkedAsDedicated': (d, w) => ({ kind: 'FarmMarkedAsDedicated', farmId: decode(one(uint), d, w) }),
  'tfgridModule.PricingPolicyStored': (d, w) => ({ kind: 'PricingPolicyStored', policy: decode(one(pricingPolicySchema), d, w) }),
  'tfgridModule.NodeStored': (d, w) => ({ kind: 'NodeStored', node: decode(one(nodeSchema), d, w) }),
  'tfgridModule.NodeUpdated': (d, w) => ({ kind: 'NodeUpdated', node: decode(one(nodeSchema), d, w) }),
  'tfgridModule.NodeDeleted': (d, w) => ({ kind: 'NodeDeleted', nodeId: decode(one(uint), d, w) }),
  'tfgridModule.NodeUptimeReported': (d, w) => {
    const [nodeId, now, uptime] = decode(z.tuple([uint, uint, uint]), d, w);
    return { kind: 'NodeUptimeReported', nodeId, now, uptime };
  },
  'tfgridModule.NodePublicConfigStored': (d, w) => {
    const [nodeId, config] = decode(z.tuple([uint, publicConfigSchema.nullable()]), d, w);
    return { kind: 'NodePublicConfigStored', nodeId, config };
  },
  'tfgridModule.NodeCertificationSet': (d, w) => {
    const [nodeId, certification] = decode(z.tuple([uint, z.enum(['Diy', 'Certified'])]), d, w);
    return { kind: 'NodeCertificationSet', nodeId, certification };
  },
  'tfgridModule.PowerTargetChanged': (d, w) => {
    const [, nodeId, target] = decode(z.tuple([uint, uint, power]), d, w);
    return { kind: 'PowerTargetChanged', nodeId, target };
  },
  'tfgridModule.PowerStateChanged': (d, w) => {
    const [, nodeId, state] = decode(z.tuple([uint, uint, powerState]), d, w);
    return { kind: 'PowerStateChanged', nodeId, state };
  },
  'smartContractModule.ContractCreated': (d, w) => ({ kind: 'ContractCreated', contract: decode(one(contractSchema), d, w) }),
  'smartContractModule.ContractUpdated': (d, w) => ({ kind: 'ContractUpdated', contract: decode(one(contractSchema), d, w) }),
  'smartContractModule.NodeContractCanceled': (d, w) => ({ kind: 'NodeContractCanceled', contractId: decode(z.tuple([uint, uint, uint]), d, w)[0] }),
  'smartContractModule.NameContractCanceled': (d, w) => ({ kind: 'NameContractCanceled', contractId: decode(one(uint), d, w) }),
  'smartContractModule.RentContractCanceled': (d, w) => ({ kind: 'RentContractCanceled', contractId: decode(one(uint), d, w) }),
  'smartContractModule.IPsFreed': (d, w) => ({ kind: 'IPsFreed', contractId: decode(z.tuple([uint, z.unknown()]), d, w)[0] }),
  'smartContractModule.ContractGracePeriodStarted': (d, w) => ({
    kind: 'ContractGracePeriodStarted',
    contractId: decode(z.tuple([uint, uint, uint, uint]), d, w)[0],
  }),
  'smartContractModule.ContractGracePeriodEnded': (d, w) => ({ kind: 'ContractGracePeriodEnded', contractId: decode(z.tuple([uint, uint, uint]), d, w)[0] }),
  'smartContractModule.UpdatedUsedResources': (d, w) => {
    const r = decode(one(z.object({ contractId: uint, used: resources })), d, w);
    return { kind: 'UpdatedUsedResources', contractId: r.contractId, used: r.used };
  },
  'smartContractModule.ContractBilled': (d, w) => {
    const b = decode(one(z.object({ contractId: uint, timestamp: uint, discountLevel: z.string(), amountBilled: balance })), d, w);
    return { kind: 'ContractBilled', ...b };
  },
  'smartContractModule.NodeExtraFeeSet': (d, w) => {
    const [nodeId, extraFee] = decode(z.tuple([uint, uint]), d, w);
    return { kind: 'NodeExtraFeeSet', nodeId, extraFee };
  },
};

/** Decodes one record: an IndexerEvent, null for events not indexed; throws ERR_DECODE when malformed. */
export function decodeIndexerEvent(raw: { section: string; method: string; data: unknown[] }): IndexerEvent | null {
  const key = `${raw.section}.${raw.method}`;
  const decoder = decoders[key];
  return decoder ? decoder(raw.data, key) : null;
}
