/** pallet_tfgrid::Event variants (spec 152), with their field typeNames. */
import { AccountId32 } from '../../metadata/common-types.ts';
import { bytes, option, u32, u64, type FieldSpec, type Ty } from '../../metadata/scale-info.ts';
import type { PalletDecl } from '../../runtime/pallet.ts';
import {
  Entity, Farm, FarmCertification, FarmingPolicy, FarmingPolicyLimit, Node, NodeCertification, Power, PowerState, PricingPolicy,
  PublicConfig, Twin,
} from './types.ts';

const f = (type: Ty, typeName: string): FieldSpec => [null, type, typeName];
const id = f(u32, 'u32');
const account = f(AccountId32, 'T::AccountId');
const farm = f(Farm, 'FarmInfoOf<T>');
const node = f(Node, 'TfgridNode<T>');
const entity = f(Entity, 'TfgridEntity<T>');
const twin = f(Twin, 'types::Twin<T::AccountId>');
const farmingPolicy = f(FarmingPolicy, 'types::FarmingPolicy<BlockNumberFor<T>>');

export const tfgridEvents: NonNullable<PalletDecl['events']> = [
  ['FarmStored', [farm]],
  ['FarmUpdated', [farm]],
  ['FarmDeleted', [id]],
  ['NodeStored', [node]],
  ['NodeUpdated', [node]],
  ['NodeDeleted', [id]],
  ['NodeUptimeReported', [id, f(u64, 'u64'), f(u64, 'u64')]],
  ['NodePublicConfigStored', [id, f(option(PublicConfig), 'Option<pallet::PublicConfig>')]],
  ['EntityStored', [entity]],
  ['EntityUpdated', [entity]],
  ['EntityDeleted', [id]],
  ['TwinStored', [twin]],
  ['TwinUpdated', [twin]],
  ['TwinEntityStored', [id, id, f(bytes, 'Vec<u8>')]],
  ['TwinEntityRemoved', [id, id]],
  ['TwinDeleted', [id]],
  ['TwinAccountBounded', [id, account]],
  ['PricingPolicyStored', [f(PricingPolicy, 'types::PricingPolicy<T::AccountId>')]],
  ['FarmingPolicyStored', [farmingPolicy]],
  ['FarmPayoutV2AddressRegistered', [id, f(bytes, 'Vec<u8>')]],
  ['FarmMarkedAsDedicated', [id]],
  ['ConnectionPriceSet', [id]],
  ['NodeCertificationSet', [id, f(NodeCertification, 'NodeCertification')]],
  ['NodeCertifierAdded', [account]],
  ['NodeCertifierRemoved', [account]],
  ['FarmingPolicyUpdated', [farmingPolicy]],
  ['FarmingPolicySet', [id, f(option(FarmingPolicyLimit), 'Option<FarmingPolicyLimit>')]],
  ['FarmCertificationSet', [id, f(FarmCertification, 'FarmCertification')]],
  ['ZosVersionUpdated', [f(bytes, 'Vec<u8>')]],
  ['PowerTargetChanged', [['farm_id', u32, 'u32'], ['node_id', u32, 'u32'], ['power_target', Power, 'Power']]],
  ['PowerStateChanged', [['farm_id', u32, 'u32'], ['node_id', u32, 'u32'], ['power_state', PowerState, 'PowerState<BlockNumberFor<T>>']]],
];
