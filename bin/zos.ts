import { Command } from 'commander';

/**
 * One CLI, `zos`. Each module in bin/commands/ exports `register(program)` and adds its
 * subcommand(s), so each component owns its command; a new command is added to this table, under
 * the top-level name it registers (`node stats` is node-stats.ts, under `node`).
 * A run loads only the modules of the command it names: a long-running `zos node` holds no image,
 * OS or devnet code (issue 16, memory). `zos --help`, `zos help …`, an unknown command or none
 * loads them all. Command modules load their heavy dependencies inside their actions, so
 * `zos --help` stays fast.
 */
type CommandModule = { register(program: Command): void };
const COMMANDS: Record<string, ReadonlyArray<() => Promise<CommandModule>>> = {
  deploy: [() => import('./commands/deploy.ts')],
  deployments: [() => import('./commands/deployments.ts')],
  devnet: [() => import('./commands/devnet.ts')],
  image: [() => import('./commands/image.ts')],
  indexer: [() => import('./commands/indexer.ts')],
  node: [() => import('./commands/node-stats.ts'), () => import('./commands/node.ts')],
  os: [() => import('./commands/os.ts')],
  relay: [() => import('./commands/relay.ts')],
  up: [() => import('./commands/up.ts')],
};

const named = process.argv[2];
const loaders = named !== undefined && Object.hasOwn(COMMANDS, named) ? COMMANDS[named]! : Object.values(COMMANDS).flat();
const modules = await Promise.all(loaders.map((load) => load()));

const program = new Command('zos')
  .description('Zero-OS in TypeScript: devnet, relay, node and tools')
  .version('0.1.0')
  .showHelpAfterError();
for (const command of modules) command.register(program);

await program.parseAsync(process.argv);
