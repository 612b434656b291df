import { open, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { zosNative } from './native.ts';
import { failpoint } from './failpoints.ts';

/** Tells apart the temp files of two writes of one path in one process (the pid, of two processes). */
let writes = 0;

/**
 * Writes a small file so that after a power cut it is whole or absent, never empty: data to a temp
 * file, fsync, rename into place, fsync the directory. (A rename alone is not enough: on a fresh
 * file the rename can reach the disk before the data, as the OS reboot test found on btrfs.)
 * The first write into a directory removes the temp files dead writers left there.
 */
export async function writeFileDurably(path: string, data: Uint8Array | string, mode = 0o644): Promise<void> {
  await sweepLeftovers(dirname(path));
  const tmp = `${path}.tmp-${process.pid}-${writes++}`;
  try {
    await writeFileSynced(tmp, data, mode);
    await failpoint('durable.write.renaming');
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(dirname(path));
}

/** Directories this process has swept (each once: a readdir per write would cost more than the write). */
const swept = new Set<string>();
const TEMP_NAME = /\.tmp-(\d+)-\d+$/;

/**
 * Removes the temp files of writeFileDurably that a writer killed (or a power cut) between its
 * write and its rename left in `dir`: nothing else would, and each holds a whole state file. One
 * of a live process, or of this one, is a write under way and stays; so does one whose pid a live
 * process has taken since (a later sweep removes it). A missing directory is left to the write.
 */
async function sweepLeftovers(dir: string): Promise<void> {
  if (swept.has(dir)) return;
  swept.add(dir);
  const names = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(
    names.map((name) => {
      const pid = Number(TEMP_NAME.exec(name)?.[1] ?? 0);
      return pid > 0 && pid !== process.pid && !alive(pid) ? rm(join(dir, name), { force: true }) : undefined;
    }),
  );
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // there, but not ours to signal
  }
}

/** Writes a file and fsyncs it (its name is durable only once its directory is fsync'd too). */
export async function writeFileSynced(path: string, data: Uint8Array | string, mode = 0o644): Promise<void> {
  const fh = await open(path, 'w', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Makes the names in a directory (files created or renamed into it) durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Flushes the whole filesystem that holds `path` (syncfs(2)). One call makes every file written
 * before it durable, where an fsync per file would cost a disk flush each: image stores write
 * thousands of chunk files, then sync once. Node has no binding: our addon (lib/native.ts) runs
 * syncfs(2) on libuv's thread pool; where it cannot load, coreutils' `sync -f` does, at the cost
 * of a fork of this process per call (3-10 ms of CPU, the event loop blocked meanwhile).
 */
export function syncFileSystem(path: string): Promise<void> {
  const native = zosNative();
  return native ? native.syncfs(path) : syncBySpawn(path);
}

async function syncBySpawn(path: string): Promise<void> {
  // node:child_process, not execa: the node loads this module at start, and execa would be ~4 MB
  // of its resident memory (issue 16; test/chain/lean-imports).
  await execFileAsync('sync', ['-f', path]);
}

const execFileAsync = promisify(execFile);

/**
 * Starts writeback while a large amount of data is still being written: each time `every` bytes
 * have been reported through `written`, one `sync` starts (never two at once), so the disk writes
 * while the writer computes instead of all in the final sync. None of these is a durability
 * point (the caller's final sync is); `settle` waits for them and throws the first failure.
 */
export function earlyWriteback(sync: () => Promise<void>, every: number): { written(bytes: number): void; settle(): Promise<void> } {
  const started: Array<Promise<void>> = [];
  let since = 0;
  let busy = false;
  return {
    written(bytes) {
      since += bytes;
      if (since < every || busy) return;
      busy = true;
      since = 0;
      const s = sync().finally(() => (busy = false));
      s.catch(() => {}); // thrown by settle(), not an unhandled rejection meanwhile
      started.push(s);
    },
    async settle() {
      for (const r of await Promise.allSettled(started)) if (r.status === 'rejected') throw r.reason;
    },
  };
}
