/** Events and constants of SmartContractModule, in spec-152 order. */
import { AccountId32 } from '../../metadata/common-types.ts';
import { bool, u128, u32, u64, type FieldSpec } from '../../metadata/scale-info.ts';
import type { ConstantDecl } from '../../runtime/pallet.ts';
import {
  Cause, Consumption, Contract, ContractBill, ContractResources, MAX_DEPLOYMENT_DATA_LENGTH, MAX_NAME_LENGTH, MAX_NODE_CONTRACT_PUBLIC_IPS,
  NruConsumption, PublicIPList, ServiceContract, ServiceContractBill, SolutionProvider,
} from './types.ts';

const contractId: FieldSpec = ['contract_id', u64, 'u64'];
const nodeId: FieldSpec = ['node_id', u32, 'u32'];
const twinId: FieldSpec = ['twin_id', u32, 'u32'];
const balance = (name: string): FieldSpec => [name, u128, 'BalanceOf<T>'];
const ips: FieldSpec = ['public_ips', PublicIPList, 'BoundedVec<PublicIP, MaxNodeContractPublicIPs<T>>'];
const one = (type: FieldSpec[1], typeName: string): FieldSpec[] => [[null, type, typeName]];

export const smartContractEvents: Array<[string, FieldSpec[]]> = [
  ['ContractCreated', one(Contract, 'types::Contract<T>')],
  ['ContractUpdated', one(Contract, 'types::Contract<T>')],
  ['NodeContractCanceled', [contractId, nodeId, twinId]],
  ['NameContractCanceled', [contractId]],
  ['IPsReserved', [contractId, ips]],
  ['IPsFreed', [contractId, ips]],
  ['ContractDeployed', [[null, u64, 'u64'], [null, AccountId32, 'T::AccountId']]],
  ['ConsumptionReportReceived', one(Consumption, 'types::Consumption')],
  ['ContractBilled', one(ContractBill, 'types::ContractBill')],
  ['TokensBurned', [contractId, balance('amount')]],
  ['UpdatedUsedResources', one(ContractResources, 'types::ContractResources')],
  ['NruConsumptionReportReceived', one(NruConsumption, 'types::NruConsumption')],
  ['RentContractCanceled', [contractId]],
  ['ContractGracePeriodStarted', [contractId, nodeId, twinId, ['block_number', u64, 'u64']]],
  ['ContractGracePeriodEnded', [contractId, nodeId, twinId]],
  ['SolutionProviderCreated', one(SolutionProvider, 'types::SolutionProvider<T::AccountId>')],
  ['SolutionProviderApproved', [[null, u64, 'u64'], [null, bool, 'bool']]],
  ['ServiceContractCreated', one(ServiceContract, 'types::ServiceContract')],
  ['ServiceContractMetadataSet', one(ServiceContract, 'types::ServiceContract')],
  ['ServiceContractFeesSet', one(ServiceContract, 'types::ServiceContract')],
  ['ServiceContractApproved', one(ServiceContract, 'types::ServiceContract')],
  ['ServiceContractCanceled', [['service_contract_id', u64, 'u64'], ['cause', Cause, 'types::Cause']]],
  [
    'ServiceContractBilled',
    [['service_contract', ServiceContract, 'types::ServiceContract'], ['bill', ServiceContractBill, 'types::ServiceContractBill'], balance('amount')],
  ],
  ['BillingFrequencyChanged', [[null, u64, 'u64']]],
  ['NodeExtraFeeSet', [nodeId, ['extra_fee', u64, 'u64']]],
  ['RentWaived', [contractId]],
  ['ContractGracePeriodElapsed', [contractId, ['grace_period', u64, 'u64']]],
  ['ContractPaymentOverdrawn', [contractId, ['timestamp', u64, 'u64'], balance('partially_billed_amount'), balance('overdraft')]],
  ['RewardDistributed', [contractId, balance('standard_rewards'), balance('additional_rewards')]],
];

export const smartContractConstants: ConstantDecl[] = [
  { name: 'MaxNameContractNameLength', type: u32, value: MAX_NAME_LENGTH },
  { name: 'MaxDeploymentDataLength', type: u32, value: MAX_DEPLOYMENT_DATA_LENGTH },
  { name: 'MaxNodeContractPublicIps', type: u32, value: MAX_NODE_CONTRACT_PUBLIC_IPS },
];
