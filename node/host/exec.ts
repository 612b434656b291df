import { execa } from 'execa';
import type { Logger } from '../../lib/log.ts';

/** Every host command the node runs goes through here (execa, never child_process). */

export interface RunOptions {
  signal?: AbortSignal;
  log?: Logger;
  /** Kill the command after this long (default 60 s): a stuck mount must not wedge the engine. */
  timeoutMs?: number;
  /** Written to the command's stdin (e.g. an nft ruleset for `nft -f -`); stdin is closed otherwise. */
  input?: string;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** A host command that could not run, timed out or exited non-zero; the message carries its stderr. */
export class HostCommandError extends Error {
  override readonly name = 'HostCommandError';
  readonly code = 'HOST_COMMAND' as const;

  constructor(
    readonly command: string,
    readonly exitCode: number | undefined,
    readonly stderr: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${command}: ${reason}${stderr ? `: ${stderr}` : ''}`, options);
  }
}

const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * Run a command and resolve with its exit code and trimmed output, whatever the exit code.
 * Throws HostCommandError only when it could not run or timed out, and the signal's reason when aborted.
 */
export async function runResult(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  opts.signal?.throwIfAborted();
  const command = [cmd, ...args].join(' ');
  const started = performance.now();
  const res = await execa(cmd, args, {
    reject: false,
    cancelSignal: opts.signal,
    timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    ...(opts.input === undefined ? { stdin: 'ignore' as const } : { input: opts.input }),
    // Parsers below read English, column-formatted output.
    env: { LC_ALL: 'C' },
  });
  const ms = Math.round(performance.now() - started);
  opts.log?.debug({ command, exitCode: res.exitCode, ms }, 'host command');
  if (res.isCanceled) throw opts.signal?.reason ?? new HostCommandError(command, undefined, '', 'aborted');
  const stderr = String(res.stderr ?? '').trim();
  if (res.timedOut) throw new HostCommandError(command, undefined, stderr, `timed out after ${ms} ms`);
  if (res.exitCode === undefined) {
    const reason = res.signal ? `killed by ${res.signal}` : (res.shortMessage ?? 'could not run');
    throw new HostCommandError(command, undefined, stderr, reason, { cause: res.cause });
  }
  return { exitCode: res.exitCode, stdout: String(res.stdout ?? '').trim(), stderr };
}

/** Run a command that must succeed; resolves with its trimmed stdout. */
export async function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  const res = await runResult(cmd, args, opts);
  if (res.exitCode !== 0) {
    throw new HostCommandError([cmd, ...args].join(' '), res.exitCode, res.stderr, `exit code ${res.exitCode}`);
  }
  return res.stdout;
}
