import { z } from 'zod';
import { goArray, goIPNet, goString, goStruct, goUint } from './gojson.ts';
import { zeroCapacity, type WorkloadModel } from './model.ts';
import { myceliumChallenge, myceliumSchema, peerSchema, validateMycelium, wireguardChallenge } from './network.ts';

export const networkLightSchema = goStruct({
  subnet: goIPNet(),
  // A value (not a pointer) in Go: always present, always hashed.
  mycelium: myceliumSchema,
  ip_range: goIPNet(),
  wireguard_private_key: goString(),
  wireguard_listen_port: goUint(16),
  peers: goArray(peerSchema),
});
export type NetworkLight = z.infer<typeof networkLightSchema>;

export const networkLight: WorkloadModel<NetworkLight> = {
  type: 'network-light',
  schema: networkLightSchema,
  challenge: (d) => wireguardChallenge(d) + myceliumChallenge(d.mycelium),
  capacity: () => zeroCapacity(),
  validate: (d) => {
    if (!d.subnet) return 'network resource subnet cannot empty';
    return validateMycelium(d.mycelium);
  },
  updatable: true,
  pausable: false,
  sharable: true,
};
