import { phantom } from '../../metadata/scale-info.ts';
import type { PalletDecl } from '../../runtime/pallet.ts';

export interface SmartContractGenesis {
  [key: string]: unknown;
}

/** pallet_smart_contract (index 26). Placeholder until the pallet lands. */
export function smartContractPallet(_genesis: SmartContractGenesis = {}): PalletDecl {
  return { name: 'SmartContractModule', index: 26, typePath: 'pallet_smart_contract::pallet', typeParams: phantom('T') };
}
