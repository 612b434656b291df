// The user's unmodified official GridClient (@threefold/grid_client, network `dev`), run by
// grid-client-vm.test.ts inside a lab's laptop namespace: grid_client wants its relay at
// wss://HOST/ on port 443 and reaches chain, relay, indexer and KYC by the addresses the nodes
// use, which only the lab offers. argv[2] is the client's options as JSON plus `kyc` (the KYC
// service's host:port, see README "The indexer"). One JSON line per call on stdin
// ({id, call: "machines.deploy", args: [...]}), one per answer on stdout ({id, ok, value|error}).
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
// Loads rmb_direct_client the way our compat tests do (its @noble/hashes v1 import): grid_client then finds it cached.
import { muteClientChatter } from '../compat/helpers.ts';

const { kyc, ...options } = JSON.parse(process.argv[2]!) as { kyc: string; mnemonic: string } & Record<string, unknown>;
const say = (o: unknown) => process.stdout.write(`${JSON.stringify(o, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
const unmute = muteClientChatter();
// stdout carries the answers: with ZOS_TEST_LOGS the clients' chatter goes to stderr instead.
if (process.env.ZOS_TEST_LOGS) console.log = console.debug = console.error;
const require = createRequire(import.meta.url);
/* eslint-disable @typescript-eslint/no-explicit-any -- grid_client ships untyped CJS here */
const { GridClient, KYC } = require('@threefold/grid_client') as { GridClient: new (o: Record<string, unknown>) => any; KYC: new (domain: string, mnemonic: string) => any };
const grid = new GridClient(options);
await grid.connect();
// grid_client 2.9.2 ignores its KycURL option (it builds kyc.dev.grid.tf from the network name):
// the connected client's deployment handler is pointed at the local service instead.
grid.machines.twinDeploymentHandler.kyc = new KYC(kyc, options.mnemonic);
say({ ready: true, twinId: grid.twinId });
for await (const line of createInterface({ input: process.stdin })) {
  const { id, call, args } = JSON.parse(line) as { id: number; call: string; args: unknown[] };
  const [module, method] = call.split('.') as [string, string];
  try {
    say({ id, ok: true, value: (await grid[module][method](...args)) ?? null });
  } catch (err) {
    say({ id, ok: false, error: (err as Error).message });
  }
}
await grid.disconnect().catch(() => undefined);
unmute();
process.exit(0);
