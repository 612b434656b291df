import type { Command } from 'commander';
import { z } from 'zod';
import { createLogger, silentLogger, type Logger } from '../../lib/log.ts';
import { CliError, CliErrorCode, explain, formatError } from './errors.ts';
import type { UserSession } from './session.ts';

/**
 * What the user-facing commands share: the grid options (--chain, --relay, key), their
 * validation, and one way to run an action (errors printed with a hint, exit codes 0/1/2).
 */

/** `zos up` listens here by default, like `zos devnet` (9944) and `zos relay` (8080). */
export const DEFAULT_CHAIN = 'ws://127.0.0.1:9944';
export const DEFAULT_RELAY = 'ws://127.0.0.1:8080';

export function addGridOptions(cmd: Command): Command {
  return cmd
    .option('--chain <url>', `tfchain WebSocket URL (env ZOS_CHAIN; default ${DEFAULT_CHAIN})`)
    .option('--relay <url>', `RMB relay WebSocket URL (env ZOS_RELAY; default ${DEFAULT_RELAY})`)
    .option('--mnemonic <words>', 'your account mnemonic or 0x hex seed (env ZOS_MNEMONIC)')
    .option('--key-file <file>', 'file holding the mnemonic or 0x seed')
    .option('--key-type <type>', 'sr25519 or ed25519', 'sr25519')
    .option('--json', 'machine-readable output on stdout (nothing else goes there)');
}

const wsUrl = (what: string) =>
  z.string().refine((u) => {
    try {
      return /^wss?:$/.test(new URL(u).protocol);
    } catch {
      return false;
    }
  }, `${what} must be a ws:// or wss:// URL`);

export const gridOptionsSchema = z.object({
  chain: wsUrl('--chain'),
  relay: wsUrl('--relay'),
  mnemonic: z.string().optional(),
  keyFile: z.string().optional(),
  keyType: z.enum(['sr25519', 'ed25519'], { error: '--key-type must be sr25519 or ed25519' }),
  json: z.boolean().default(false),
});
export type GridOptions = z.infer<typeof gridOptionsSchema>;

/** Validates raw commander options (falling back to env and defaults); CliError(ERR_BAD_INPUT) otherwise. */
export function parseOptions<S extends z.ZodType>(schema: S, raw: Record<string, unknown>): z.infer<S> {
  const merged = { chain: process.env.ZOS_CHAIN ?? DEFAULT_CHAIN, relay: process.env.ZOS_RELAY ?? DEFAULT_RELAY, ...stripUndefined(raw) };
  const r = schema.safeParse(merged);
  if (!r.success) throw new CliError(CliErrorCode.badInput, r.error.issues.map((i) => i.message).join('; '), 'see --help');
  return r.data;
}

function stripUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** Logs go to stderr only when ZOS_LOG_LEVEL is set: the CLI's own output is the interface. */
export function cliLogger(name: string): Logger {
  return process.env.ZOS_LOG_LEVEL ? createLogger({ name }) : silentLogger();
}

/** Connects as the user (session.ts pulls in @polkadot/api: loaded only when a command runs). */
export async function openSession(o: GridOptions, log: Logger): Promise<UserSession> {
  const { readSecret, UserSession } = await import('./session.ts');
  const secret = await readSecret(o);
  return UserSession.open({ chainUrl: o.chain, relayUrl: o.relay, secret, keyType: o.keyType, log });
}

/** Prints JSON for scripts: stdout, one document. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Runs a command body: a CliError is printed to stderr with its hint (and as JSON on stdout
 * with --json); the process then exits with its code. Open handles never keep the CLI alive.
 */
export async function runAction(prefix: string, json: boolean, body: () => Promise<void>): Promise<never> {
  let code = 0;
  try {
    await body();
  } catch (err) {
    const e = explain(err);
    code = e.exitCode;
    process.stderr.write(formatError(prefix, e));
    if (json) printJson({ error: { code: e.code, message: e.message, hint: e.hint ?? null, ...(e.details ? { details: e.details } : {}) } });
  }
  process.exit(code);
}
