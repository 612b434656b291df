// The user's official RMB client (@threefold/rmb_direct_client, unmodified), run by
// official-network.test.ts inside the lab's laptop namespace: the official client needs its relay
// at wss://HOST/ on port 443, which only the lab's services namespace can offer. One JSON line per
// request on stdin ({id, twin, cmd, payload}), one per answer on stdout ({id, ok, value|error}).
import { createInterface } from 'node:readline';
import { closeRmb, muteClientChatter, RmbClient, rmbRequest } from '../compat/helpers.ts';

const [chainUrl, relayUrl, mnemonic] = process.argv.slice(2);
const say = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
const unmute = muteClientChatter();
const rmb = new RmbClient(chainUrl!, relayUrl!, mnemonic!, `lab${process.pid}`, 'sr25519', 3);
await rmb.connect();
say({ ready: true });
for await (const line of createInterface({ input: process.stdin })) {
  const { id, twin, cmd, payload } = JSON.parse(line) as { id: number; twin: number; cmd: string; payload?: unknown };
  try {
    say({ id, ok: true, value: (await rmbRequest(rmb, twin, cmd, payload)) ?? null });
  } catch (err) {
    say({ id, ok: false, error: (err as Error).message });
  }
}
await closeRmb(rmb);
unmute();
