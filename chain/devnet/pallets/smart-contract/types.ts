/**
 * SCALE types of pallet_smart_contract as spec 152 declares them (paths, params,
 * field names, typeNames), plus the error table and plain TS shapes for the values
 * the pallet reads and writes.
 */
import { AccountId32 } from '../../metadata/common-types.ts';
import {
  array, bool, boundedBytes, boundedVec, bytes, enumType, option, phantom, param, seq, simpleEnum, struct, u128, u16, u32, u64, u8,
} from '../../metadata/scale-info.ts';

const T = phantom('T');

export const HexHash = array(32, u8);
export const OptionU64 = option(u64);

export const Resources = struct('tfchain_support::resources::Resources', [
  ['hru', u64, 'u64'],
  ['sru', u64, 'u64'],
  ['cru', u64, 'u64'],
  ['mru', u64, 'u64'],
]);

export const PublicIP = struct('tfchain_support::types::PublicIP', [
  ['ip', boundedBytes, 'BoundedVec<u8, ConstU32<MAX_IP4_LENGTH>>'],
  ['gateway', boundedBytes, 'BoundedVec<u8, ConstU32<MAX_GW4_LENGTH>>'],
  ['contract_id', u64, 'u64'],
]);
export const PublicIPList = boundedVec(PublicIP);
const PUBLIC_IPS_TYPENAME = 'BoundedVec<PublicIP, MaxNodeContractPublicIPs<T>>';

export const Cause = simpleEnum('pallet_smart_contract::types::Cause', ['CanceledByUser', 'OutOfFunds', 'CanceledByCollective']);
export const ContractState = enumType('pallet_smart_contract::types::ContractState', [
  ['Created'],
  ['Deleted', [[null, Cause, 'Cause']]],
  ['GracePeriod', [[null, u64, 'BlockNumber']]],
]);

export const NodeContract = struct(
  'pallet_smart_contract::types::NodeContract',
  [
    ['node_id', u32, 'u32'],
    ['deployment_hash', HexHash, 'HexHash'],
    ['deployment_data', boundedBytes, 'BoundedVec<u8, MaxDeploymentDataLength<T>>'],
    ['public_ips', u32, 'u32'],
    ['public_ips_list', PublicIPList, PUBLIC_IPS_TYPENAME],
  ],
  T,
);
export const NameContractName = struct(
  'pallet_smart_contract::grid_contract::NameContractName',
  [[null, boundedBytes, 'BoundedVec<u8, T::MaxNameContractNameLength>']],
  T,
);
export const NameContract = struct('pallet_smart_contract::types::NameContract', [['name', NameContractName, 'T::NameContractName']], T);
export const RentContract = struct('pallet_smart_contract::types::RentContract', [['node_id', u32, 'u32']]);
export const ContractData = enumType(
  'pallet_smart_contract::types::ContractData',
  [
    ['NodeContract', [[null, NodeContract, 'NodeContract<T>']]],
    ['NameContract', [[null, NameContract, 'NameContract<T>']]],
    ['RentContract', [[null, RentContract, 'RentContract']]],
  ],
  T,
);
export const Contract = struct(
  'pallet_smart_contract::types::Contract',
  [
    ['version', u32, 'u32'],
    ['state', ContractState, 'ContractState'],
    ['contract_id', u64, 'u64'],
    ['twin_id', u32, 'u32'],
    ['contract_type', ContractData, 'ContractData<T>'],
    ['solution_provider_id', OptionU64, 'Option<u64>'],
  ],
  T,
);

export const NruConsumption = struct('pallet_smart_contract::types::NruConsumption', [
  ['contract_id', u64, 'u64'],
  ['timestamp', u64, 'u64'],
  ['window', u64, 'u64'],
  ['nru', u64, 'u64'],
]);
export const ContractResources = struct('pallet_smart_contract::types::ContractResources', [
  ['contract_id', u64, 'u64'],
  ['used', Resources, 'Resources'],
]);
export const Consumption = struct('pallet_smart_contract::types::Consumption', [
  ['contract_id', u64, 'u64'],
  ['timestamp', u64, 'u64'],
  ['cru', u64, 'u64'],
  ['sru', u64, 'u64'],
  ['hru', u64, 'u64'],
  ['mru', u64, 'u64'],
  ['nru', u64, 'u64'],
]);
export const DiscountLevel = simpleEnum('pallet_smart_contract::types::DiscountLevel', ['None', 'Default', 'Bronze', 'Silver', 'Gold']);
export const ContractBill = struct('pallet_smart_contract::types::ContractBill', [
  ['contract_id', u64, 'u64'],
  ['timestamp', u64, 'u64'],
  ['discount_level', DiscountLevel, 'DiscountLevel'],
  ['amount_billed', u128, 'u128'],
]);

const accountParam = [param('AccountId', AccountId32)];
export const Provider = struct('pallet_smart_contract::types::Provider', [['who', AccountId32, 'AccountId'], ['take', u8, 'u8']], accountParam);
export const SolutionProvider = struct(
  'pallet_smart_contract::types::SolutionProvider',
  [
    ['solution_provider_id', u64, 'u64'],
    ['providers', seq(Provider), 'Vec<Provider<AccountId>>'],
    ['description', bytes, 'Vec<u8>'],
    ['link', bytes, 'Vec<u8>'],
    ['approved', bool, 'bool'],
  ],
  accountParam,
);

export const ServiceContractState = simpleEnum('pallet_smart_contract::types::ServiceContractState', ['Created', 'AgreementReady', 'ApprovedByBoth']);
export const ServiceContract = struct('pallet_smart_contract::types::ServiceContract', [
  ['service_contract_id', u64, 'u64'],
  ['service_twin_id', u32, 'u32'],
  ['consumer_twin_id', u32, 'u32'],
  ['base_fee', u64, 'u64'],
  ['variable_fee', u64, 'u64'],
  ['metadata', boundedBytes, 'BoundedVec<u8, ConstU32<MAX_METADATA_LENGTH>>'],
  ['accepted_by_service', bool, 'bool'],
  ['accepted_by_consumer', bool, 'bool'],
  ['last_bill', u64, 'u64'],
  ['state', ServiceContractState, 'ServiceContractState'],
]);
export const ServiceContractBill = struct('pallet_smart_contract::types::ServiceContractBill', [
  ['variable_amount', u64, 'u64'],
  ['window', u64, 'u64'],
  ['metadata', boundedBytes, 'BoundedVec<u8, ConstU32<MAX_BILL_METADATA_LENGTH>>'],
]);

export const ContractBillingInformation = struct('pallet_smart_contract::types::ContractBillingInformation', [
  ['previous_nu_reported', u64, 'u64'],
  ['last_updated', u64, 'u64'],
  ['amount_unbilled', u64, 'u64'],
]);
const balanceParam = [param('BalanceOf', u128)];
export const ContractLock = struct(
  'pallet_smart_contract::types::ContractLock',
  [
    ['amount_locked', u128, 'BalanceOf'],
    ['extra_amount_locked', u128, 'BalanceOf'],
    ['lock_updated', u64, 'u64'],
    ['cycles', u16, 'u16'],
  ],
  balanceParam,
);
export const StorageVersion = simpleEnum(
  'pallet_smart_contract::types::StorageVersion',
  Array.from({ length: 12 }, (_, i) => `V${i + 1}`),
);
export const ContractPaymentState = struct(
  'pallet_smart_contract::types::ContractPaymentState',
  [
    ['standard_reserve', u128, 'BalanceOf'],
    ['additional_reserve', u128, 'BalanceOf'],
    ['standard_overdraft', u128, 'BalanceOf'],
    ['additional_overdraft', u128, 'BalanceOf'],
    ['last_updated_seconds', u64, 'u64'],
    ['cycles', u16, 'u16'],
  ],
  balanceParam,
);

/** Error names in index order (spec 152). */
export const SMART_CONTRACT_ERRORS = [
  'TwinNotExists', 'NodeNotExists', 'FarmNotExists', 'FarmHasNotEnoughPublicIPs', 'FarmHasNotEnoughPublicIPsFree',
  'FailedToReserveIP', 'FailedToFreeIPs', 'ContractNotExists', 'TwinNotAuthorizedToUpdateContract',
  'TwinNotAuthorizedToCancelContract', 'NodeNotAuthorizedToDeployContract', 'NodeNotAuthorizedToComputeReport',
  'PricingPolicyNotExists', 'ContractIsNotUnique', 'ContractWrongBillingLoopIndex', 'NameExists', 'NameNotValid',
  'InvalidContractType', 'TFTPriceValueError', 'NotEnoughResourcesOnNode', 'NodeNotAuthorizedToReportResources',
  'MethodIsDeprecated', 'NodeHasActiveContracts', 'NodeHasRentContract', 'FarmIsNotDedicated', 'NodeNotAvailableToDeploy',
  'CannotUpdateContractInGraceState', 'NumOverflow', 'OffchainSignedTxCannotSign', 'OffchainSignedTxAlreadySent',
  'OffchainSignedTxNoLocalAccountAvailable', 'NameContractNameTooShort', 'NameContractNameTooLong',
  'InvalidProviderConfiguration', 'NoSuchSolutionProvider', 'SolutionProviderNotApproved', 'TwinNotAuthorized',
  'ServiceContractNotExists', 'ServiceContractCreationNotAllowed', 'ServiceContractModificationNotAllowed',
  'ServiceContractApprovalNotAllowed', 'ServiceContractRejectionNotAllowed', 'ServiceContractBillingNotApprovedByBoth',
  'ServiceContractBillingVariableAmountTooHigh', 'ServiceContractBillMetadataTooLong', 'ServiceContractMetadataTooLong',
  'ServiceContractNotEnoughFundsToPayBill', 'CanOnlyIncreaseFrequency', 'IsNotAnAuthority', 'WrongAuthority',
  'UnauthorizedToChangeSolutionProviderId', 'UnauthorizedToSetExtraFee', 'RewardDistributionError', 'ContractPaymentStateNotExists',
] as const;
export type SmartContractError = (typeof SMART_CONTRACT_ERRORS)[number];

export const PALLET = 'SmartContractModule';
/** Contract struct version written by tfchain 2.9. */
export const CONTRACT_VERSION = 4;
export const MAX_NAME_LENGTH = 64;
export const MIN_NAME_LENGTH = 3;
export const MAX_DEPLOYMENT_DATA_LENGTH = 512;
export const MAX_NODE_CONTRACT_PUBLIC_IPS = 512;

// ---- plain values ----

export type CauseName = 'CanceledByUser' | 'OutOfFunds' | 'CanceledByCollective';
export type ContractStateValue = { kind: 'Created' } | { kind: 'Deleted'; cause: CauseName } | { kind: 'GracePeriod'; block: number };

export interface PublicIpValue {
  ip: string;
  gateway: string;
  contractId: number;
}

export type ContractTypeValue =
  | { kind: 'NodeContract'; nodeId: number; deploymentHash: Uint8Array; deploymentData: Uint8Array; publicIps: number; publicIpsList: PublicIpValue[] }
  | { kind: 'NameContract'; name: string }
  | { kind: 'RentContract'; nodeId: number };

export interface ContractValue {
  version: number;
  state: ContractStateValue;
  contractId: number;
  twinId: number;
  contractType: ContractTypeValue;
  solutionProviderId: number | null;
}

export interface ResourcesValue {
  hru: bigint;
  sru: bigint;
  cru: bigint;
  mru: bigint;
}

export interface PaymentStateValue {
  standardReserve: bigint;
  additionalReserve: bigint;
  standardOverdraft: bigint;
  additionalOverdraft: bigint;
  lastUpdatedSeconds: number;
  cycles: number;
}
