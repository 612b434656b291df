/** pallet_tfgrid (`TfgridModule`, index 25): twins, farms, nodes, policies and power management. */
import { phantom, u32, u64 } from '../../metadata/scale-info.ts';
import type { PalletDecl } from '../../runtime/pallet.ts';
import { certificationCalls } from './certification.ts';
import { entityCalls } from './entity.ts';
import { TFGRID_ERRORS } from './errors.ts';
import { tfgridEvents } from './events.ts';
import { farmCalls } from './farm.ts';
import type { NodeChangeHooks } from './hooks.ts';
import { writeGenesis, type TfgridGenesis } from './genesis.ts';
import { nodeCalls } from './node.ts';
import { policyCalls } from './policies.ts';
import { powerCalls } from './power.ts';
import { TFGRID } from './queries.ts';
import { tfgridStorage } from './storage.ts';
import { termsCalls } from './terms.ts';
import { twinCalls } from './twin.ts';

export type { TfgridGenesis } from './genesis.ts';
export type { NodeChangeHooks } from './hooks.ts';

/** `hooks` plays tfchain's `T::NodeChanged`: the lead wires SmartContractModule's handlers in here. */
export function tfgridPallet(genesis: TfgridGenesis = {}, hooks: NodeChangeHooks = {}): PalletDecl {
  const calls = [
    ...policyCalls, ...farmCalls, ...nodeCalls(hooks), ...certificationCalls, ...powerCalls(hooks), ...twinCalls, ...entityCalls, ...termsCalls,
  ];
  return {
    name: TFGRID,
    index: 25,
    typePath: 'pallet_tfgrid::pallet',
    typeParams: phantom('T'),
    storage: tfgridStorage,
    calls: calls.sort((a, b) => a.index - b.index),
    events: tfgridEvents,
    errors: [...TFGRID_ERRORS],
    constants: [
      { name: 'MaxFarmNameLength', type: u32, value: 40 },
      { name: 'MaxFarmPublicIps', type: u32, value: 512 },
      { name: 'MaxInterfacesLength', type: u32, value: 10 },
      { name: 'MaxInterfaceIpsLength', type: u32, value: 10 },
      { name: 'TimestampHintDrift', type: u64, value: 60 },
    ],
    genesis: (ctx) => writeGenesis(ctx, genesis),
  };
}
