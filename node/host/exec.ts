import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Logger } from '../../lib/log.ts';
import { zosNative, type SpawnedCapture, type ZosNative } from '../../lib/native.ts';

/**
 * Every host command the node runs goes through here. Plain node:child_process, not execa: the
 * node runs a handful of short commands with captured output, and execa's module graph was
 * about 4 MB of the idle node's resident memory (issue 16).
 */

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
/** A command that ignores SIGTERM (on timeout or abort) gets SIGKILL this much later. */
const KILL_GRACE_MS = 5_000;

interface Outcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  aborted: boolean;
  /** Set when the command could not be started (e.g. ENOENT). */
  error?: Error;
}

/** The environment of every command: parsers read English, column-formatted output. */
const commandEnv = () => ({ ...process.env, LC_ALL: 'C' });

function execute(cmd: string, args: readonly string[], opts: RunOptions): Promise<Outcome> {
  const native = zosNative();
  return native ? executeSpawned(native, cmd, args, opts) : executeForked(cmd, args, opts);
}

/** A command's timeout and abort: SIGTERM, then SIGKILL after a grace. `clear` ends both. */
function stopper(opts: RunOptions, kill: (signal: NodeJS.Signals) => void) {
  const state = { timedOut: false, aborted: false };
  let killer: NodeJS.Timeout | undefined;
  const stop = () => {
    kill('SIGTERM');
    killer ??= setTimeout(() => kill('SIGKILL'), KILL_GRACE_MS);
  };
  const timer = setTimeout(() => {
    state.timedOut = true;
    stop();
  }, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const onAbort = () => {
    state.aborted = true;
    stop();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const clear = () => {
    clearTimeout(timer);
    clearTimeout(killer);
    opts.signal?.removeEventListener('abort', onAbort);
  };
  return { state, clear };
}

/**
 * Through our addon's posix_spawn: node:child_process forks this whole process for each command,
 * which costs 9-16 ms on a VM where page faults are dear (a node of ~100 MB; ~2.5 ms spawned).
 */
async function executeSpawned(native: ZosNative, cmd: string, args: readonly string[], opts: RunOptions): Promise<Outcome> {
  const env = Object.entries(commandEnv()).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]));
  let child: SpawnedCapture;
  try {
    child = native.spawnCapture(cmd, args, env, opts.input === undefined ? undefined : Buffer.from(opts.input));
  } catch (error) {
    return { exitCode: null, signal: null, stdout: '', stderr: '', timedOut: false, aborted: false, error: error as Error };
  }
  const { state, clear } = stopper(opts, (signal) => child.kill(constants.signals[signal]));
  const r = await child.done.finally(clear);
  const signal = r.signal === null ? null : signalName(r.signal);
  return { exitCode: r.exitCode, signal, stdout: r.stdout.toString(), stderr: r.stderr.toString(), ...state };
}

const signalName = (n: number) => (Object.entries(constants.signals).find(([, v]) => v === n)?.[0] ?? null) as NodeJS.Signals | null;

function executeForked(cmd: string, args: readonly string[], opts: RunOptions): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: commandEnv(), stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    const { state, clear } = stopper(opts, (signal) => child.kill(signal));
    let done = false;
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null, error?: Error) => {
      if (done) return;
      done = true;
      clear();
      resolve({ exitCode, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), ...state, ...(error ? { error } : {}) });
    };
    child.on('error', (e) => {
      // Not started at all (no pid): 'close' may never come. A started child's errors (kill) end in 'close'.
      if (child.pid === undefined) finish(null, null, e);
    });
    child.on('close', (code, signal) => finish(code, signal));
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => undefined); // a command that exits without reading its input: EPIPE
      child.stdin!.end(opts.input);
    }
  });
}

/**
 * Run a command and resolve with its exit code and trimmed output, whatever the exit code.
 * Throws HostCommandError only when it could not run or timed out, and the signal's reason when aborted.
 */
export async function runResult(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  opts.signal?.throwIfAborted();
  const command = [cmd, ...args].join(' ');
  const started = performance.now();
  const res = await execute(cmd, args, opts);
  const ms = Math.round(performance.now() - started);
  opts.log?.debug({ command, exitCode: res.exitCode, ms }, 'host command');
  if (res.aborted) throw opts.signal?.reason ?? new HostCommandError(command, undefined, '', 'aborted');
  const stderr = res.stderr.trim();
  if (res.timedOut) throw new HostCommandError(command, undefined, stderr, `timed out after ${ms} ms`);
  if (res.exitCode === null) {
    const reason = res.signal ? `killed by ${res.signal}` : `could not run${res.error ? `: ${res.error.message}` : ''}`;
    throw new HostCommandError(command, undefined, stderr, reason, { cause: res.error });
  }
  return { exitCode: res.exitCode, stdout: res.stdout.trim(), stderr };
}

/** Run a command that must succeed; resolves with its trimmed stdout. */
export async function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  const res = await runResult(cmd, args, opts);
  if (res.exitCode !== 0) {
    throw new HostCommandError([cmd, ...args].join(' '), res.exitCode, res.stderr, `exit code ${res.exitCode}`);
  }
  return res.stdout;
}
