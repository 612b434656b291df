import { z } from 'zod';
import { goString, goStruct } from './gojson.ts';
import { gatewayBaseChallenge, gatewayBaseFields, validateGatewayBase } from './gateway.ts';
import { zeroCapacity, type WorkloadModel } from './model.ts';

const FQDN = /^([a-zA-Z0-9_-]+\.)+[a-zA-Z0-9_-]{2,}$/;

export const gatewayFqdnProxySchema = goStruct({ fqdn: goString(), ...gatewayBaseFields });
export type GatewayFqdnProxy = z.infer<typeof gatewayFqdnProxySchema>;

/** A user domain (DNS must point at the node) proxied to the backends. */
export const gatewayFqdnProxy: WorkloadModel<GatewayFqdnProxy> = {
  type: 'gateway-fqdn-proxy',
  schema: gatewayFqdnProxySchema,
  challenge: (d) => d.fqdn + gatewayBaseChallenge(d),
  capacity: () => zeroCapacity(),
  validate: (d) => (FQDN.test(d.fqdn) ? validateGatewayBase(d) : `fqdn ${d.fqdn} is invalid`),
  updatable: false,
  pausable: false,
  sharable: false,
};
