import { z } from 'zod';
import { goString, goStruct } from './gojson.ts';
import { gatewayBaseChallenge, gatewayBaseFields, validateGatewayBase } from './gateway.ts';
import { zeroCapacity, type WorkloadModel } from './model.ts';

const NAME = /^[a-zA-Z0-9_-]+$/;

export const gatewayNameProxySchema = goStruct({ name: goString(), ...gatewayBaseFields });
export type GatewayNameProxy = z.infer<typeof gatewayNameProxySchema>;

/** Result of both gateway proxies (`{}` for fqdn). */
export interface GatewayProxyResult {
  fqdn?: string;
}

/** `<name>.<node domain>` proxied to the backends; needs the twin's name contract. */
export const gatewayNameProxy: WorkloadModel<GatewayNameProxy> = {
  type: 'gateway-name-proxy',
  schema: gatewayNameProxySchema,
  challenge: (d) => d.name + gatewayBaseChallenge(d),
  capacity: () => zeroCapacity(),
  validate: (d) => (NAME.test(d.name) ? validateGatewayBase(d) : `name ${d.name} is invalid`),
  updatable: false,
  pausable: false,
  sharable: false,
};
