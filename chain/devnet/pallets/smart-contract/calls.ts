/** The call table of SmartContractModule (spec-152 names, indices and argument types). */
import { AccountId32 } from '../../metadata/common-types.ts';
import { bool, boundedBytes, bytes, seq, u32, u64, type FieldSpec } from '../../metadata/scale-info.ts';
import type { CallContext } from '../../runtime/context.ts';
import type { CallArgs, CallDecl } from '../../runtime/pallet.ts';
import { billContract, terminateContract, type BillingConfig } from './billing.ts';
import { fail } from './lifecycle.ts';
import { createNameContract } from './name-contract.ts';
import { createNodeContract, updateNodeContract } from './node-contract.ts';
import { createRentContract, setDedicatedNodeExtraFee } from './rent-contract.ts';
import { approveSolutionProvider, attachSolutionProviderId, changeBillingFrequency, createSolutionProvider } from './providers.ts';
import { addNruReports, reportContractResources } from './reports.ts';
import { activeNodeContractIds, getContract } from './storage.ts';
import { twinAccount } from './tfgrid.ts';
import { ContractResources, HexHash, NruConsumption, OptionU64, Provider } from './types.ts';

const contractId: FieldSpec = ['contract_id', u64, 'u64'];
const serviceContractId: FieldSpec = ['service_contract_id', u64, 'u64'];
const hash: FieldSpec = ['deployment_hash', HexHash, 'HexHash'];
const data: FieldSpec = ['deployment_data', boundedBytes, 'DeploymentDataInput<T>'];
const solutionProvider: FieldSpec = ['solution_provider_id', OptionU64, 'Option<u64>'];

const existing = (ctx: CallContext, a: CallArgs) => getContract(ctx, (a.contract_id as any).toNumber()) ?? fail(ctx, 'ContractNotExists');

/** cancel_contract: the owner ends a contract; a rent contract only once its node runs no node contracts. */
function cancel(cfg: BillingConfig) {
  return (ctx: CallContext, a: CallArgs) => {
    const contract = existing(ctx, a);
    if (twinAccount(ctx, contract.twinId) !== ctx.signer()) fail(ctx, 'TwinNotAuthorizedToCancelContract');
    const t = contract.contractType;
    if (t.kind === 'RentContract' && activeNodeContractIds(ctx, t.nodeId).length > 0) fail(ctx, 'NodeHasActiveContracts');
    terminateContract(ctx, cfg, contract, 'CanceledByUser');
  };
}

export function smartContractCalls(cfg: BillingConfig): CallDecl[] {
  return [
    { name: 'create_node_contract', index: 0, args: [['node_id', u32, 'u32'], hash, data, ['public_ips', u32, 'u32'], solutionProvider], run: createNodeContract },
    { name: 'update_node_contract', index: 1, args: [contractId, hash, data], run: updateNodeContract },
    { name: 'cancel_contract', index: 2, args: [contractId], run: cancel(cfg) },
    { name: 'create_name_contract', index: 4, args: [['name', bytes, 'Vec<u8>']], run: createNameContract },
    { name: 'add_nru_reports', index: 5, args: [['reports', seq(NruConsumption), 'Vec<types::NruConsumption>']], run: addNruReports },
    {
      name: 'report_contract_resources', index: 6,
      args: [['contract_resources', seq(ContractResources), 'Vec<types::ContractResources>']],
      run: reportContractResources,
    },
    { name: 'create_rent_contract', index: 7, args: [['node_id', u32, 'u32'], solutionProvider], run: createRentContract },
    {
      name: 'create_solution_provider', index: 8,
      args: [['description', bytes, 'Vec<u8>'], ['link', bytes, 'Vec<u8>'], ['providers', seq(Provider), 'Vec<types::Provider<T::AccountId>>']],
      run: createSolutionProvider,
    },
    {
      name: 'approve_solution_provider', index: 9, args: [['solution_provider_id', u64, 'u64'], ['approve', bool, 'bool']], root: true,
      run: approveSolutionProvider,
    },
    {
      name: 'bill_contract_for_block', index: 10, args: [contractId],
      run: (ctx, a) => {
        ctx.signer();
        billContract(ctx, cfg, existing(ctx, a));
      },
    },
    { name: 'service_contract_create', index: 11, args: [['service_account', AccountId32, 'T::AccountId'], ['consumer_account', AccountId32, 'T::AccountId']] },
    { name: 'service_contract_set_metadata', index: 12, args: [serviceContractId, ['metadata', bytes, 'Vec<u8>']] },
    { name: 'service_contract_set_fees', index: 13, args: [serviceContractId, ['base_fee', u64, 'u64'], ['variable_fee', u64, 'u64']] },
    { name: 'service_contract_approve', index: 14, args: [serviceContractId] },
    { name: 'service_contract_reject', index: 15, args: [serviceContractId] },
    { name: 'service_contract_cancel', index: 16, args: [serviceContractId] },
    {
      name: 'service_contract_bill', index: 17,
      args: [serviceContractId, ['variable_amount', u64, 'u64'], ['metadata', bytes, 'Vec<u8>']],
    },
    { name: 'change_billing_frequency', index: 18, args: [['frequency', u64, 'u64']], root: true, run: changeBillingFrequency },
    { name: 'attach_solution_provider_id', index: 19, args: [contractId, ['solution_provider_id', u64, 'u64']], run: attachSolutionProviderId },
    { name: 'set_dedicated_node_extra_fee', index: 20, args: [['node_id', u32, 'u32'], ['extra_fee', u64, 'u64']], run: setDedicatedNodeExtraFee },
    {
      name: 'cancel_contract_collective', index: 21, args: [contractId], root: true,
      run: (ctx, a) => terminateContract(ctx, cfg, existing(ctx, a), 'CanceledByCollective'),
    },
  ];
}
