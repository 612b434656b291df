import type { PalletDecl } from '../runtime/pallet.ts';
import { balancesPallet, type BalancesConfig } from './balances.ts';
import { smartContractNodeHooks, smartContractPallet, type SmartContractGenesis } from './smart-contract/index.ts';
import { systemPallet } from './system.ts';
import { tftPricePallet } from './tft-price.ts';
import { tfgridPallet, type TfgridGenesis } from './tfgrid/index.ts';
import { timestampPallet } from './timestamp.ts';
import { transactionPaymentPallet } from './transaction-payment.ts';
import { utilityPallet } from './utility.ts';

export interface GenesisConfig {
  balances: BalancesConfig;
  tfgrid?: TfgridGenesis;
  smartContract?: SmartContractGenesis;
}

/** Every pallet the devnet runs, in construct_runtime! order. */
export function devnetPallets(genesis: GenesisConfig = { balances: { endowed: [] } }): PalletDecl[] {
  return [
    systemPallet(),
    timestampPallet(),
    utilityPallet(),
    balancesPallet(genesis.balances),
    transactionPaymentPallet(),
    tfgridPallet(genesis.tfgrid, smartContractNodeHooks(genesis.smartContract)),
    smartContractPallet(genesis.smartContract),
    tftPricePallet(genesis.smartContract?.tftPrice),
  ];
}
