import type { ApiPromise } from '@polkadot/api';
import { z } from 'zod';
import { contractSchema, decode, farmSchema, nodePowerSchema, nodeSchema, text, twinSchema, uint } from '../chain/client/codec.ts';
import type { IndexerEvent } from './events.ts';

/**
 * The chain state at one block as the events that would have built it, for when the blocks
 * before it cannot be replayed (a pruned or restarted chain keeps no old states). History the
 * state does not hold stays unknown, not invented: uptime and update times are 0 (nodes count
 * as down until their next uptime report) and contract creation times are 0.
 */
export async function stateAsEvents(api: ApiPromise, blockHash: string): Promise<IndexerEvent[]> {
  const at = await api.at(blockHash);
  const q = at.query;
  const entries = async <T>(read: () => Promise<Array<[{ args: unknown[] }, { toJSON(): unknown }]>>, schema: z.ZodType<T, unknown>, what: string) =>
    (await read()).map(([key, value]) => ({ key: key.args.map((a) => (a as { toJSON(): unknown }).toJSON()), value: decode(schema, value.toJSON(), what) }));

  const out: IndexerEvent[] = [];
  for (const { value } of await entries(() => q.tfgridModule.twins.entries(), twinSchema.nullable(), 'twin')) {
    if (value) out.push({ kind: 'TwinStored', twin: value });
  }
  for (const { value } of await entries(() => q.tfgridModule.farms.entries(), farmSchema.nullable(), 'farm')) {
    if (value) out.push({ kind: 'FarmStored', farm: value });
  }
  for (const { key, value } of await entries(() => q.tfgridModule.farmPayoutV2AddressByFarmID.entries(), text, 'payout address')) {
    if (value) out.push({ kind: 'FarmPayoutV2AddressRegistered', farmId: Number(key[0]), address: value });
  }
  for (const { value } of await entries(() => q.tfgridModule.nodes.entries(), nodeSchema.nullable(), 'node')) {
    if (value) out.push({ kind: 'NodeStored', node: value });
  }
  for (const { key, value } of await entries(() => q.tfgridModule.nodePower.entries(), nodePowerSchema, 'node power')) {
    const nodeId = Number(key[0]);
    out.push({ kind: 'PowerStateChanged', nodeId, state: value.state.kind }, { kind: 'PowerTargetChanged', nodeId, target: value.target });
  }
  for (const { key, value } of await entries(() => q.smartContractModule.dedicatedNodesExtraFee.entries(), uint, 'extra fee')) {
    out.push({ kind: 'NodeExtraFeeSet', nodeId: Number(key[0]), extraFee: value });
  }
  for (const { value } of await entries(() => q.smartContractModule.contracts.entries(), contractSchema.nullable(), 'contract')) {
    if (!value) continue;
    out.push({ kind: 'ContractCreated', contract: value });
    if (value.state.kind === 'GracePeriod') out.push({ kind: 'ContractGracePeriodStarted', contractId: value.contractId });
  }
  const resources = z.object({ contractId: uint, used: z.object({ hru: uint, sru: uint, cru: uint, mru: uint }) });
  for (const { value } of await entries(() => q.smartContractModule.nodeContractResources.entries(), resources, 'contract resources')) {
    out.push({ kind: 'UpdatedUsedResources', contractId: value.contractId, used: value.used });
  }
  return out;
}
