import { mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isNotFound } from '../errors.ts';
import { zosNative } from '../../lib/native.ts';

/**
 * A directory store's file names and its synchronous chunk write (SPEC.md §5), apart from
 * DirStore: the build's worker threads load only this (each worker pays its imports at start, on
 * the build's critical path, and DirStore's module graph, with lib/durable, cost ~5 ms more).
 */
export function chunkFilePath(location: string, id: string): string {
  return `${location}/chunks/${id.slice(0, 2)}/${id}`; // not path.join: ~1.6 µs a call, a read path makes one per chunk
}

/** A fresh name in the store's staging directory (temp + rename writes). */
export function tmpFilePath(location: string): string {
  return join(location, 'tmp', `${tmpPrefix}-${++tmpCount}`);
}
/**
 * Unique per process and thread (random: pids are reused); a counter after it costs less than
 * random bytes per chunk. Math.random, not node:crypto, whose import costs a worker ~3 ms at start:
 * a name only has to differ from the live writers' names.
 */
const tmpPrefix = `${process.pid}-${Math.floor(Math.random() * 2 ** 48).toString(16)}`;
let tmpCount = 0;

/**
 * putChunk's synchronous twin for the build's worker threads (image/build-worker.ts), which write
 * a directory store by path (a file creation can take ~0.5 ms of kernel time on a busy ext4:
 * better on a worker than on an event loop). True when the chunk was not there before (a file of
 * its size already there is the same chunk: its name is its content's hash).
 *
 * Through our addon (native/ putFile) where it loads: one call makes the file unnamed in its
 * fan-out directory (O_TMPFILE), writes it and links it under its name once whole: ~36 µs a chunk
 * here, against ~48 µs for the five node:fs calls of temp + rename below, each with its own path
 * walk (2 119 chunk files for a 138 MiB tree). Readers never see a partial blob either way.
 */
export function putChunkSync(location: string, id: string, blob: Uint8Array): boolean {
  if (putFile) {
    const dir = `${location}/chunks/${id.slice(0, 2)}`;
    try {
      return putFile(dir, id, blob);
    } catch (err) {
      const { code, syscall } = err as NodeJS.ErrnoException;
      if (syscall === 'mkdir' && code === 'ENOENT') {
        mkdirSync(dir, { recursive: true }); // no chunks/ yet (putFile makes the fan-out level only)
        return putFile(dir, id, blob);
      }
      if (syscall !== 'open' || (code !== 'EOPNOTSUPP' && code !== 'EISDIR' && code !== 'EINVAL')) throw err;
      putFile = undefined; // a filesystem without O_TMPFILE: temp + rename from now on
    }
  }
  const path = chunkFilePath(location, id);
  const st = statSync(path, { throwIfNoEntry: false });
  if (st && st.size === blob.length) return false;
  const tmp = tmpFilePath(location);
  writeFileSync(tmp, blob);
  try {
    renameSync(tmp, path);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    mkdirSync(join(path, '..'), { recursive: true });
    renameSync(tmp, path);
  }
  return true;
}
let putFile = zosNative()?.putFile;
