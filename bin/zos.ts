import { Command } from 'commander';
import * as deploy from './commands/deploy.ts';
import * as deployments from './commands/deployments.ts';
import * as devnet from './commands/devnet.ts';
import * as image from './commands/image.ts';
import * as indexer from './commands/indexer.ts';
import * as nodeStats from './commands/node-stats.ts';
import * as node from './commands/node.ts';
import * as os from './commands/os.ts';
import * as relay from './commands/relay.ts';
import * as up from './commands/up.ts';

/**
 * One CLI, `zos`. Each module in bin/commands/ exports `register(program)` and adds its
 * subcommand(s), so each component owns its command; a new command is added to this list.
 * Command modules load their heavy dependencies inside their actions, so `zos --help` stays fast.
 */
const COMMANDS: ReadonlyArray<{ register(program: Command): void }> = [deploy, deployments, devnet, image, indexer, nodeStats, node, os, relay, up];

const program = new Command('zos')
  .description('Zero-OS in TypeScript: devnet, relay, node and tools')
  .version('0.1.0')
  .showHelpAfterError();
for (const command of COMMANDS) command.register(program);

await program.parseAsync(process.argv);
