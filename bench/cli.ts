/**
 * The lean runtime (issue 16): how fast `zos` starts, against a bare `node -e 0` in the same
 * run (interleaved, medians), and how long a `zos` command takes to reach the chain: a
 * `zos deployments list` for a fresh account against an in-process devnet and relay (process
 * start -> chain connected -> one query -> exit, so an upper bound for the connection itself).
 * Run after `npm run build` (bin/zos runs dist/cli only when it matches the sources; it says so).
 * The last line holds the ratios against the goals, PASS/MISS beside each.
 * Usage: node --import tsx bench/cli.ts [--quick]
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { mnemonicGenerate } from '@polkadot/util-crypto';
import { execa } from 'execa';
import { Devnet } from '../chain/devnet/devnet.ts';
import { MemoryTwinDirectory } from '../rmb/twins.ts';
import { RelayServer } from '../relay/server.ts';

const quick = process.argv.includes('--quick');
const RUNS = quick ? 5 : 11;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ZOS = `${ROOT}bin/zos`;
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function wallMs(cmd: string, args: string[]): Promise<number> {
  const t = performance.now();
  const r = await execa(cmd, args, { reject: false, cwd: ROOT });
  if (r.exitCode !== 0 && !args.includes('list')) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return performance.now() - t;
}

async function main(): Promise<void> {
  const compiled = (await execa('node', ['--input-type=module', '-e', "const m = await import('./bin/compiled.mjs'); console.log(m.compiledEntry() ? 'yes' : 'no')"], { cwd: ROOT })).stdout.trim();
  console.log(`bin/zos runs compiled dist/cli: ${compiled}${compiled === 'yes' ? '' : ' (stale or missing: run npm run build; these figures are for the tsx fallback)'}`);
  console.log(`load average ${load()} (2 cores shared)`);

  const bare: number[] = [];
  const help: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    bare.push(await wallMs('node', ['-e', '0']));
    help.push(await wallMs(ZOS, ['--help']));
  }
  console.log(`node -e 0: median ${median(bare).toFixed(0)} ms; zos --help: median ${median(help).toFixed(0)} ms (n=${RUNS} each, interleaved)`);

  const devnet = new Devnet({ port: 0 });
  const chainUrl = await devnet.start();
  const relay = new RelayServer({ twins: new MemoryTwinDirectory(), domains: ['127.0.0.1'] });
  const relayUrl = await relay.start();
  const chain: number[] = [];
  try {
    const args = ['deployments', 'list', '--chain', chainUrl, '--relay', relayUrl, '--mnemonic', mnemonicGenerate(), '--json'];
    for (let i = 0; i < RUNS; i++) chain.push(await wallMs(ZOS, args));
  } finally {
    await relay.close();
    await devnet.close();
  }
  console.log(`zos deployments list (fresh account, in-process devnet): median ${median(chain).toFixed(0)} ms (n=${RUNS})`);
  console.log(`load average at the end: ${load()}`);

  const ratio = median(help) / median(bare);
  const chainMs = median(chain);
  console.log(
    `RESULT cli: zos --help / node -e 0 ${ratio.toFixed(2)}x (goal <= 5x) ${ratio <= 5 ? 'PASS' : 'MISS'} | command to the chain ${chainMs.toFixed(0)} ms (goal <= 1000 ms) ${chainMs <= 1000 ? 'PASS' : 'MISS'}`,
  );
}

await main();
