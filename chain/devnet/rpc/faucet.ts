import { z } from 'zod';
import type { Logger } from '../../../lib/log.ts';
import type { Executive } from '../executive/executive.ts';
import { mint } from '../pallets/balances.ts';
import { accountId } from './methods/system.ts';
import type { HttpRoute } from './server.ts';

/** What the activation service gives a new account: 1000 TFT (1 TFT = 1e7 units). */
export const FAUCET_AMOUNT = 1000n * 10_000_000n;

const activateBody = z.object({ substrateAccountID: z.string().min(1).max(128) });

/** `POST /activation/activate {"substrateAccountID": ss58}`, the shape grid_client's activation service takes. */
export function activationRoute(executive: Executive, log: Logger, amount = FAUCET_AMOUNT): HttpRoute {
  return (body) => {
    const parsed = activateBody.safeParse(body);
    if (!parsed.success) return { status: 400, body: { error: 'expected {"substrateAccountID": "<ss58 address>"}' } };
    let who: string;
    try {
      who = accountId(parsed.data.substrateAccountID);
    } catch {
      return { status: 400, body: { error: 'invalid substrateAccountID' } };
    }
    const block = executive.mutate((ctx) => mint(ctx, who, amount));
    log.info({ account: parsed.data.substrateAccountID, amount: amount.toString() }, 'faucet funded account');
    return { status: 200, body: { substrateAccountID: parsed.data.substrateAccountID, amount: amount.toString(), block: block.hash } };
  };
}
