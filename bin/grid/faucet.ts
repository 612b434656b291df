import type { ChainClient } from '../../chain/client/index.ts';
import { CliError, CliErrorCode } from './errors.ts';

/**
 * Asks a devnet faucet (POST {substrateAccountID}) to fund `address`, then waits until the
 * chain shows a balance: the faucet answers before its transfer is in a block.
 */
export async function fundFromFaucet(client: ChainClient, faucet: string, address: string, timeoutMs = 30_000): Promise<void> {
  let res: Response;
  try {
    res = await fetch(faucet, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ substrateAccountID: address }) });
  } catch (err) {
    throw new CliError(CliErrorCode.insufficientBalance, `the faucet ${faucet} failed: ${(err as Error).message}`, 'is this a local devnet (zos devnet / zos up)? elsewhere fund the account by other means');
  }
  if (!res.ok) throw new CliError(CliErrorCode.insufficientBalance, `the faucet ${faucet} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
  const deadline = Date.now() + timeoutMs;
  while ((await client.query.balance(address)).free === 0n) {
    if (Date.now() > deadline) throw new CliError(CliErrorCode.insufficientBalance, `${address}: the faucet accepted but no funds arrived within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 300));
  }
}
