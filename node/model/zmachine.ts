import { z } from 'zod';
import { goArray, goBool, goOptional, goString, goStruct } from './gojson.ts';
import { type WorkloadModel } from './model.ts';
import { interfaceSchema, machineCapacity, machineChallenge, machineFields, myceliumIPSchema, validateMachine } from './zmachine-common.ts';

export const machineNetworkSchema = goStruct({
  public_ip: goString(),
  planetary: goBool(),
  mycelium: goOptional(myceliumIPSchema),
  interfaces: goArray(interfaceSchema),
});

export const zmachineSchema = goStruct({ ...machineFields, network: machineNetworkSchema });
export type ZMachine = z.infer<typeof zmachineSchema>;

export interface ZMachineResult {
  id: string;
  ip: string;
  planetary_ip: string;
  mycelium_ip: string;
  console_url: string;
}

const PUBLIC_IP_TYPES = ['ip', 'ipv4'];

function validatePublicIP(d: ZMachine, ctx: Parameters<WorkloadModel<ZMachine>['validate']>[1]): string | undefined {
  const name = d.network.public_ip;
  if (name === '') return undefined;
  const wl = ctx.get(name);
  if (!wl) return 'public ip is not found';
  // zos wraps a nil error here, so it would let this pass; we reject it with zos' intended text.
  if (!PUBLIC_IP_TYPES.includes(wl.type)) return `workload of name '${name}' is not a public ip`;
  let users = 0;
  for (const vm of ctx.byType('zmachine')) {
    const parsed = zmachineSchema.safeParse(vm.data);
    if (parsed.success && parsed.data.network.public_ip === name) users++;
  }
  return users > 1 ? 'public ip is assigned to multiple vms' : undefined;
}

/** A virtual machine (or container on a VM); no update, pausable. */
export const zmachine: WorkloadModel<ZMachine> = {
  type: 'zmachine',
  schema: zmachineSchema,
  challenge: (d) => machineChallenge(d, `${d.network.public_ip}${d.network.planetary}`),
  capacity: machineCapacity,
  validate: (d, ctx) => validateMachine(d, () => validatePublicIP(d, ctx)),
  updatable: false,
  pausable: true,
  sharable: false,
};
