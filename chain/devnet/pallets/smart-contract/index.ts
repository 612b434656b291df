import { phantom } from '../../metadata/scale-info.ts';
import type { PalletDecl } from '../../runtime/pallet.ts';
import type { TftPriceGenesis } from '../tft-price.ts';
import type { NodeChangeHooks } from '../tfgrid/hooks.ts';
import { BILLING_DEFAULTS, billBlock, terminateContract, type BillingConfig } from './billing.ts';
import { activeNodeContractIds, activeRentContractFor, getContract } from './storage.ts';
import { smartContractCalls } from './calls.ts';
import { smartContractConstants, smartContractEvents } from './events.ts';
import { smartContractStorage } from './storage.ts';
import { PALLET, SMART_CONTRACT_ERRORS } from './types.ts';

export interface SmartContractGenesis {
  /** Blocks per billing round; each contract is billed once per round (tfchain dev: 10). */
  billingFrequency?: number;
  /** Blocks an overdrawn contract survives before deletion (tfchain: 201600 = 14 days). */
  gracePeriodBlocks?: number;
  /** Billing cycles between reward payouts (tfchain: 24). */
  distributionCycles?: number;
  /** Account of the 10% staking share (0x hex); the foundation account when absent. */
  stakingPoolAccount?: string;
  /** TFTPriceModule genesis (prices in mUSD). */
  tftPrice?: TftPriceGenesis;
  /** Told about a contract whose bill failed in on_finalize (it is retried next round); for the devnet's logger. */
  onBillingFailure?: (contractId: number, err: unknown) => void;
}

export const SMART_CONTRACT_DEFAULTS = { billingFrequency: 10, ...BILLING_DEFAULTS } as const;

/** pallet_smart_contract (index 26): node, name and rent contracts with their billing loop. */
function billingConfig(genesis: SmartContractGenesis): BillingConfig {
  return {
    gracePeriodBlocks: genesis.gracePeriodBlocks ?? BILLING_DEFAULTS.gracePeriodBlocks,
    distributionCycles: genesis.distributionCycles ?? BILLING_DEFAULTS.distributionCycles,
    stakingPoolAccount: genesis.stakingPoolAccount ?? BILLING_DEFAULTS.stakingPoolAccount,
  };
}

/**
 * tfchain's NodeChanged handler on the contract side: a deleted node takes its node contracts
 * and its rent contract with it (each settled and cancelled as CanceledByUser).
 */
export function smartContractNodeHooks(genesis: SmartContractGenesis = {}): NodeChangeHooks {
  const cfg = billingConfig(genesis);
  return {
    nodeDeleted(ctx, node) {
      const ids = [...activeNodeContractIds(ctx, node.id)];
      const rent = activeRentContractFor(ctx, node.id);
      if (rent !== null) ids.push(rent);
      for (const id of ids) {
        const contract = getContract(ctx, id);
        if (contract) terminateContract(ctx, cfg, contract, 'CanceledByUser');
      }
    },
  };
}

export function smartContractPallet(genesis: SmartContractGenesis = {}): PalletDecl {
  const billingFrequency = genesis.billingFrequency ?? SMART_CONTRACT_DEFAULTS.billingFrequency;
  if (!Number.isInteger(billingFrequency) || billingFrequency < 1) throw new Error(`billingFrequency must be a positive integer, got ${billingFrequency}`);
  const cfg = billingConfig(genesis);
  return {
    name: PALLET,
    index: 26,
    typePath: 'pallet_smart_contract::pallet',
    typeParams: phantom('T'),
    storage: smartContractStorage,
    calls: smartContractCalls(cfg),
    events: smartContractEvents,
    errors: [...SMART_CONTRACT_ERRORS],
    constants: smartContractConstants,
    genesis: (ctx) => ctx.store(PALLET).put('BillingFrequency', [], billingFrequency),
    onFinalize: (ctx) => billBlock(ctx, cfg, genesis.onBillingFailure),
  };
}

export * from './queries.ts';
