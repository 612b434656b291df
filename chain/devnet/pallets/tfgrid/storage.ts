/** Storage items of pallet_tfgrid, in spec-152 order (all maps Blake2_128Concat). */
import { AccountId32 } from '../../metadata/common-types.ts';
import { bytes, seq, u32, type Ty } from '../../metadata/scale-info.ts';
import type { StorageDecl } from '../../runtime/pallet.ts';
import {
  Entity, Farm, FarmingPolicy, Node, NodePower, PricingPolicy, StorageVersion, TermsAndConditions, Twin,
} from './types.ts';

const map = (name: string, modifier: StorageDecl['modifier'], key: Ty, value: Ty): StorageDecl => ({
  name, modifier, type: { map: { hashers: ['Blake2_128Concat'], key, value } },
});
const plain = (name: string, modifier: StorageDecl['modifier'], value: Ty, def?: unknown): StorageDecl => ({
  name, modifier, type: { plain: value }, ...(def === undefined ? {} : { default: def }),
});

export const tfgridStorage: StorageDecl[] = [
  map('Farms', 'Optional', u32, Farm),
  map('NodesByFarmID', 'Default', u32, seq(u32)),
  map('FarmIdByName', 'Default', bytes, u32),
  map('FarmPayoutV2AddressByFarmID', 'Default', u32, bytes),
  map('Nodes', 'Optional', u32, Node),
  map('NodeIdByTwinID', 'Default', u32, u32),
  map('Entities', 'Optional', u32, Entity),
  map('EntityIdByAccountID', 'Optional', AccountId32, u32),
  map('EntityIdByName', 'Default', bytes, u32),
  map('Twins', 'Optional', u32, Twin),
  map('TwinIdByAccountID', 'Optional', AccountId32, u32),
  map('TwinBoundedAccountID', 'Optional', u32, AccountId32),
  map('PricingPolicies', 'Optional', u32, PricingPolicy),
  map('PricingPolicyIdByName', 'Default', bytes, u32),
  map('FarmingPoliciesMap', 'Default', u32, FarmingPolicy),
  map('UsersTermsAndConditions', 'Optional', AccountId32, seq(TermsAndConditions)),
  plain('AllowedNodeCertifiers', 'Optional', seq(AccountId32)),
  plain('ConnectionPrice', 'Default', u32),
  plain('FarmID', 'Default', u32),
  plain('NodeID', 'Default', u32),
  plain('EntityID', 'Default', u32),
  plain('TwinID', 'Default', u32),
  plain('PricingPolicyID', 'Default', u32),
  plain('FarmingPolicyID', 'Default', u32),
  // tfchain 2.9 runs storage version 17.
  plain('PalletVersion', 'Default', StorageVersion, 'V17Struct'),
  plain('ZosVersion', 'Default', bytes),
  map('NodePower', 'Default', u32, NodePower),
];
