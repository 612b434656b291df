import { z } from 'zod';
import { goArray, goOptional, goStruct } from './gojson.ts';
import { type WorkloadModel } from './model.ts';
import { interfaceSchema, machineCapacity, machineChallenge, machineFields, myceliumIPSchema, validateMachine } from './zmachine-common.ts';

export const machineNetworkLightSchema = goStruct({
  mycelium: goOptional(myceliumIPSchema),
  interfaces: goArray(interfaceSchema),
});

export const zmachineLightSchema = goStruct({ ...machineFields, network: machineNetworkLightSchema });
export type ZMachineLight = z.infer<typeof zmachineLightSchema>;

export interface ZMachineLightResult {
  id: string;
  ip: string;
  mycelium_ip: string;
  console_url: string;
}

/** zmachine for light nodes: no public IP, no planetary. */
export const zmachineLight: WorkloadModel<ZMachineLight> = {
  type: 'zmachine-light',
  schema: zmachineLightSchema,
  challenge: (d) => machineChallenge(d, ''),
  capacity: machineCapacity,
  validate: (d) => validateMachine(d),
  updatable: false,
  pausable: true,
  sharable: false,
};
