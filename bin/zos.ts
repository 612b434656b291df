import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';

/**
 * One CLI, `zos`. Each file in bin/commands/ exports `register(program)` and adds its
 * subcommand(s); keeping them apart lets each component own its command.
 */
const program = new Command('zos')
  .description('Zero-OS in TypeScript: devnet, relay, node and tools')
  .version('0.1.0')
  .showHelpAfterError();

const dir = fileURLToPath(new URL('./commands/', import.meta.url));
// .ts when run from sources, .js when run from the compiled dist/cli.
const files = existsSync(dir) ? readdirSync(dir).filter((f) => /\.[jt]s$/.test(f) && !f.endsWith('.d.ts')).sort() : [];
for (const file of files) {
  const mod = (await import(new URL(`./commands/${file}`, import.meta.url).href)) as {
    register: (p: Command) => void;
  };
  mod.register(program);
}

await program.parseAsync(process.argv);
