import { phantom } from '../../metadata/scale-info.ts';
import type { PalletDecl } from '../../runtime/pallet.ts';

export interface TfgridGenesis {
  /** Extra genesis hooks config (pricing/farming policies, connection price) — filled in by the pallet implementation. */
  [key: string]: unknown;
}

/** pallet_tfgrid (index 25). Placeholder until the pallet lands. */
export function tfgridPallet(_genesis: TfgridGenesis = {}): PalletDecl {
  return { name: 'TfgridModule', index: 25, typePath: 'pallet_tfgrid::pallet', typeParams: phantom('T') };
}
