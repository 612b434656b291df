import type { Command } from 'commander';
import { z } from 'zod';
import { addGridOptions, cliLogger, gridOptionsSchema, openSession, parseOptions, printJson, runAction } from '../grid/cli.ts';
import { CliError, CliErrorCode } from '../grid/errors.ts';

interface Statistics {
  total: Record<string, number>;
  used: Record<string, number>;
  system: Record<string, number>;
  users: { deployments: number; workloads: number; last_deployment_timestamp?: number };
  open_connections?: number;
}

const nodeId = z.coerce.number({ error: 'expected a node id' }).int().positive('expected a node id (a positive number)');

const statsOptions = gridOptionsSchema.extend({ timeout: z.coerce.number().positive('--timeout must be seconds > 0') });

/** `zos node stats ID`: a node's capacity and usage (zos.statistics.get) through the relay. */
function addStats(node: Command): void {
  addGridOptions(node.command('stats').description("a node's capacity and usage (zos.statistics.get)").argument('<node>', 'node id'))
    .option('--timeout <seconds>', 'how long to wait for the node to answer', '30')
    .action(function (this: Command, id: string) {
      // `zos node` defines --chain/--relay/--mnemonic itself and consumes them: merge both levels.
      const mine = this.opts();
      const parent = this.parent?.opts() ?? {};
      const first = (v: unknown) => (Array.isArray(v) ? v[0] : v);
      const raw: Record<string, unknown> = { ...mine, chain: first(mine.chain ?? parent.chain), relay: first(mine.relay ?? parent.relay), mnemonic: mine.mnemonic ?? parent.mnemonic };
      return runAction('zos node stats', !!raw.json, async () => {
        const n = nodeId.safeParse(id);
        if (!n.success) throw new CliError(CliErrorCode.badInput, `${JSON.stringify(id)}: ${n.error.issues[0]!.message}`);
        const o = parseOptions(statsOptions, raw);
        const session = await openSession(o, cliLogger('zos-node-stats'));
        try {
          await session.requireTwin();
          const stats = await session.call<Statistics>(n.data, 'zos.statistics.get', undefined, o.timeout * 1000);
          if (o.json) return printJson(stats);
          const gib = (b = 0) => `${(b / 2 ** 30).toFixed(1)}GiB`;
          const line = (k: string, r: Record<string, number>) => `${k.padEnd(7)} cru ${r.cru ?? 0}  mru ${gib(r.mru)}  sru ${gib(r.sru)}  hru ${gib(r.hru)}  ipv4u ${r.ipv4u ?? 0}\n`;
          process.stdout.write(`node ${n.data}\n${line('total', stats.total)}${line('used', stats.used)}${line('system', stats.system)}`);
          process.stdout.write(`users   ${stats.users.deployments} deployments, ${stats.users.workloads} workloads\n`);
        } finally {
          await session.close();
        }
      });
    });
}

/**
 * `node` is registered by bin/commands/node.ts (loaded after this file), so `stats` is attached
 * when the program dispatches to it. Its required --farm is for running a node, not for stats:
 * it is relaxed only when the subcommand is `stats` (commander checks ancestors' required options).
 */
export function register(program: Command): void {
  program.hook('preSubcommand', (root, sub) => {
    if (sub.name() !== 'node' || sub.commands.some((c) => c.name() === 'stats')) return;
    addStats(sub);
    if (root.args[1] === 'stats') for (const opt of sub.options) opt.mandatory = false;
  });
}
