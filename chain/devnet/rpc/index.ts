import type { Logger } from '../../../lib/log.ts';
import { Dispatcher } from './dispatcher.ts';
import { authorMethods, authorSubscriptions } from './methods/author.ts';
import { chainMethods, chainSubscriptions } from './methods/chain.ts';
import { devMethods } from './methods/dev.ts';
import { stateMethods, stateSubscriptions } from './methods/state.ts';
import { systemMethods } from './methods/system.ts';
import type { RpcBackend } from './methods/types.ts';
import { stateCall } from './runtime-api.ts';
import { stateAt } from './methods/at.ts';
import { z } from 'zod';
import { hexString, optAt } from './protocol.ts';
import { hexToU8a, u8aConcat, u8aToHex } from '@polkadot/util';

/** payment_queryInfo: the legacy RPC twin of TransactionPaymentApi_query_info. */
const paymentMethods = {
  payment_queryInfo: {
    params: z.tuple([hexString, optAt]).or(z.tuple([hexString])),
    run: ([xt, at]: [string, string | null | undefined], b: RpcBackend) => {
      const len = new Uint8Array(4);
      new DataView(len.buffer).setUint32(0, hexToU8a(xt).length, true);
      const input = u8aToHex(u8aConcat(hexToU8a(xt), len));
      const out = stateCall(b.runtime, 'TransactionPaymentApi_query_info', input, stateAt(b, at).read);
      return (b.runtime.registry.createType('RuntimeDispatchInfo', hexToU8a(out)) as any).toJSON();
    },
  },
};

/** The devnet's JSON-RPC surface; the `dev_*` methods only when `dev` is set. */
export function createDispatcher(backend: RpcBackend, logger: Logger, opts: { dev: boolean }): Dispatcher {
  return new Dispatcher(
    { ...systemMethods, ...chainMethods, ...stateMethods, ...authorMethods, ...(opts.dev ? devMethods : {}), ...paymentMethods },
    { ...chainSubscriptions, ...stateSubscriptions, ...authorSubscriptions },
    backend,
    logger,
  );
}

export { Dispatcher } from './dispatcher.ts';
export { RpcServer, MAX_PAYLOAD } from './server.ts';
export { activationRoute, FAUCET_AMOUNT } from './faucet.ts';
export type { RpcBackend } from './methods/types.ts';
