import type { FileDone, FileFailed, FileJob, FilesJob } from './file-worker.ts';
import { runSharedList } from './shared-list.ts';
import { fileWorkers, warmImageWorkers } from './worker-pool.ts';

/**
 * Checks (and writes) files from a directory store on the image workers, one per core
 * (image/file-worker.ts on image/worker-pool.ts's threads, which builds share), which take them
 * from one shared list, largest first (image/shared-list.ts); finished files come back a few at a
 * time for progress (and the caller's writeback kicks); the first failure stops the others before
 * their next file.
 */
export type { FileJob };

/** Starts the workers ahead of their first files (each takes tens of milliseconds to load), e.g. while a manifest is decoded. */
export function warmFileWorkers(): void {
  warmImageWorkers();
}

/** What the caller turns a failed file into (its own message around the worker's). */
export type FileFailure<F extends FileJob = FileJob> = FileFailed & { file: F };

/**
 * Runs every file from a directory store (and its decoded chunks, FilesJob); `onFile` for each file finished (soon after, in the order they finished),
 * `onReused` for files whose `existing` copy was used. Throws the error `fail` makes of the first
 * failure (in list order), once every worker has stopped.
 */
export async function runFileJobs<F extends FileJob & { size: number }>(
  from: Pick<FilesJob, 'store' | 'decoded'>,
  files: F[],
  fail: (f: FileFailure<F>) => Error,
  onFile: (f: F) => void = () => {},
  onReused: (f: F) => void = () => {},
): Promise<void> {
  const failed = await runSharedList<F, Pick<FilesJob, 'store' | 'decoded'>, FileDone, FileFailed>(
    fileWorkers,
    files,
    from,
    // Only the fields a worker reads (callers pass whole manifest entries).
    ({ path, size, blake3, extents, existing, dest, meta, publish, links, at }) => ({ path, size, blake3, extents, existing, dest, meta, publish, links, at }),
    {
      result(f, reused) {
        if (reused) onReused(f);
        onFile(f);
      },
    },
  );
  if (failed) throw fail({ ...failed.failure, file: failed.item });
}
