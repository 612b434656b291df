import { createRequire } from 'node:module';

/** Our own addon (native/, built by node-gyp at install): the system calls Node has no binding for, and one it makes costly. */
export interface ZosNative {
  /** syncfs(2) on the filesystem holding `path`, on libuv's thread pool; rejects like node:fs (code, errno, syscall, path). */
  syncfs(path: string): Promise<void>;
  /** glibc's malloc_trim(0): free pages inside every malloc arena go back to the kernel; true when some did. */
  mallocTrim(): boolean;
  /**
   * A command by posix_spawn (not a fork of this process), stdin from `input` or /dev/null, stdout
   * and stderr captured; `done` settles once both have ended and it has exited. `kill` signals it
   * until then (false after). Throws like node:fs (syscall "spawn", code ENOENT...) when it
   * cannot start. `env` holds "NAME=value" strings; `file` is looked up in this process's PATH.
   */
  spawnCapture(file: string, args: readonly string[], env: readonly string[], input?: Uint8Array): SpawnedCapture;
}

export interface SpawnedCapture {
  pid: number;
  done: Promise<{ exitCode: number | null; signal: number | null; stdout: Buffer; stderr: Buffer }>;
  kill(signal: number): boolean;
}

let addon: ZosNative | null | undefined;
let why = '';

/**
 * The addon, or null where it cannot load (not built: an install without scripts, another libc);
 * callers then fall back (lib/durable.ts) or do without (lib/memory.ts). Loaded once, on first use.
 */
export function zosNative(): ZosNative | null {
  if (addon === undefined) {
    try {
      addon = createRequire(import.meta.url)('zos-native') as ZosNative; // an addon: require, not import
    } catch (err) {
      addon = null;
      why = (err as Error).message.split('\n')[0]!;
    }
  }
  return addon;
}

/** Why zosNative() is null ('' when it loaded or was not tried). */
export function zosNativeError(): string {
  return why;
}
