import { Call, toHex, type ChainClient } from '../../chain/client/index.ts';

/**
 * Sets TfgridModule.ZosVersion as tfchain's council would (set_zos_version with a root origin),
 * through the devnet's dev_rootCall; the devnet must run with --dev.
 */
export async function setZosVersion(client: ChainClient, version: string): Promise<void> {
  await client.run((c) => c.rpc.request('dev_rootCall', [toHex(c.runtime.encodeCall(new Call('tfgridModule', 'setZosVersion', [version])))]));
}
