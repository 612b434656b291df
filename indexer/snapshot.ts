import { z } from 'zod';
import type { Connection } from '../chain/client/index.ts';
import { readEntries } from '../chain/client/queries.ts';
import { contractSchema, decode, farmSchema, nodePowerSchema, nodeSchema, pricingPolicySchema, text, twinSchema, uint } from '../chain/client/codec.ts';
import type { IndexerEvent } from './events.ts';

/**
 * The chain state at one block as the events that would have built it, for when the blocks
 * before it cannot be replayed (a pruned or restarted chain keeps no old states). History the
 * state does not hold stays unknown, not invented: uptime and update times are 0 (nodes count
 * as down until their next uptime report) and contract creation times are 0.
 */
export async function stateAsEvents(c: Connection, blockHash: string): Promise<IndexerEvent[]> {
  const at = blockHash as `0x${string}`;
  const entries = async <T>(item: string, schema: z.ZodType<T, unknown>, what: string) => {
    const [section, name] = item.split('.') as [string, string];
    return (await readEntries(c, section, name, at)).map(({ key, value }) => ({ key, value: decode(schema, value, what) }));
  };

  const out: IndexerEvent[] = [];
  for (const { value } of await entries('tfgridModule.twins', twinSchema.nullable(), 'twin')) {
    if (value) out.push({ kind: 'TwinStored', twin: value });
  }
  for (const { value } of await entries('tfgridModule.pricingPolicies', pricingPolicySchema.nullable(), 'pricing policy')) {
    if (value) out.push({ kind: 'PricingPolicyStored', policy: value });
  }
  for (const { value } of await entries('tfgridModule.farms', farmSchema.nullable(), 'farm')) {
    if (value) out.push({ kind: 'FarmStored', farm: value });
  }
  for (const { key, value } of await entries('tfgridModule.farmPayoutV2AddressByFarmID', text, 'payout address')) {
    if (value) out.push({ kind: 'FarmPayoutV2AddressRegistered', farmId: Number(key[0]), address: value });
  }
  for (const { value } of await entries('tfgridModule.nodes', nodeSchema.nullable(), 'node')) {
    if (value) out.push({ kind: 'NodeStored', node: value });
  }
  for (const { key, value } of await entries('tfgridModule.nodePower', nodePowerSchema, 'node power')) {
    const nodeId = Number(key[0]);
    out.push({ kind: 'PowerStateChanged', nodeId, state: value.state.kind }, { kind: 'PowerTargetChanged', nodeId, target: value.target });
  }
  for (const { key, value } of await entries('smartContractModule.dedicatedNodesExtraFee', uint, 'extra fee')) {
    out.push({ kind: 'NodeExtraFeeSet', nodeId: Number(key[0]), extraFee: value });
  }
  for (const { value } of await entries('smartContractModule.contracts', contractSchema.nullable(), 'contract')) {
    if (!value) continue;
    out.push({ kind: 'ContractCreated', contract: value });
    if (value.state.kind === 'GracePeriod') out.push({ kind: 'ContractGracePeriodStarted', contractId: value.contractId });
  }
  const resources = z.object({ contractId: uint, used: z.object({ hru: uint, sru: uint, cru: uint, mru: uint }) });
  for (const { value } of await entries('smartContractModule.nodeContractResources', resources, 'contract resources')) {
    out.push({ kind: 'UpdatedUsedResources', contractId: value.contractId, used: value.used });
  }
  return out;
}
