import type { Command } from 'commander';
import { z } from 'zod';
import { addGridOptions, cliLogger, gridOptionsSchema, openSession, parseOptions, printJson, runAction } from '../grid/cli.ts';
import { CliError, CliErrorCode } from '../grid/errors.ts';
import { Reporter } from '../grid/render.ts';

const deployOptions = gridOptionsSchema.extend({
  node: z.coerce.number({ error: '--node must be a node id' }).int().positive('--node must be a node id').optional(),
  fund: z.boolean().default(false),
  timeout: z.coerce.number().positive('--timeout must be seconds > 0').default(120),
});

/** `zos deploy FILE`: deploys a YAML/JSON deployment description to a node and waits for it. */
export function register(program: Command): void {
  addGridOptions(
    program
      .command('deploy')
      .description('deploy a YAML/JSON deployment file (see examples/) to a node and wait until its workloads are ok')
      .argument('<file>', 'deployment file: node, name, workloads [{name, type: zmount|disk|volume, size: 10GiB}]'),
  )
    .option('--node <id>', 'deploy to this node (overrides `node:` in the file)')
    .option('--fund', 'fund an empty account from the devnet faucet first (local grids only)')
    .option('--timeout <seconds>', 'how long to wait for the workloads', '120')
    .action(async (file: string, raw: Record<string, unknown>) => {
      await runAction('zos deploy', !!raw.json, async () => {
        const o = parseOptions(deployOptions, raw);
        const { loadSpecFile } = await import('../grid/spec.ts');
        const { deploySpec, formatStates } = await import('../grid/deployer.ts');
        const spec = await loadSpecFile(file);
        const nodeId = o.node ?? spec.node;
        if (nodeId === null) throw new CliError(CliErrorCode.badFile, `${file}: node: required (a node id, or pass --node ID)`);
        const out = new Reporter(o.json ? process.stderr : process.stdout);
        const session = await openSession(o, cliLogger('zos-deploy'));
        try {
          if (o.fund && (await session.fundIfEmpty())) out.step('', `funded ${session.address} from the faucet`);
          const result = await deploySpec(session, spec, nodeId, {
            step: (text, done) => out.step(text, done),
            states: (s) => out.detail(formatStates(s)),
          }, o.timeout * 1000);
          if (o.json) printJson(result);
          else out.line(`deployment ${result.name || '(unnamed)'}: contract ${result.contractId} on node ${result.nodeId} (twin ${result.twinId})`);
        } catch (err) {
          out.fail('deploy failed');
          throw err;
        } finally {
          await session.close();
        }
      });
    });
}
