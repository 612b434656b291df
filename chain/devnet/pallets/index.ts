import type { PalletDecl } from '../runtime/pallet.ts';
import { balancesPallet, type BalancesConfig } from './balances.ts';
import { systemPallet } from './system.ts';
import { timestampPallet } from './timestamp.ts';
import { transactionPaymentPallet } from './transaction-payment.ts';
import { utilityPallet } from './utility.ts';

export interface GenesisConfig {
  balances: BalancesConfig;
}

/** Every pallet the devnet runs, in construct_runtime! order. Extra pallets (tfgrid, contracts) are appended by callers. */
export function corePallets(genesis: GenesisConfig): PalletDecl[] {
  return [systemPallet(), timestampPallet(), utilityPallet(), balancesPallet(genesis.balances), transactionPaymentPallet()];
}

/** Dev accounts' default genesis when no config is given (tests of metadata only need the shapes). */
export function devnetPallets(genesis: GenesisConfig = { balances: { endowed: [] } }): PalletDecl[] {
  return [...corePallets(genesis)];
}
