import { availableParallelism } from 'node:os';
import { mapLimit } from '../lib/parallel.ts';
import { WorkerPool } from '../lib/workers.ts';
import { ImageError } from './errors.ts';
import type { FileJob, FilesJob, FilesOutcome } from './file-worker.ts';

/**
 * Checks (and writes) files from a directory store on worker threads, one per core
 * (image/file-worker.ts). Files go out in groups of about GROUP_BYTES so a tree of many small
 * files costs few messages; two groups per worker are in flight (the next one is there when a
 * worker finishes), so the first failure stops the rest soon. A worker costs ~80 ms of CPU to
 * start (node, zstd, BLAKE3): the pool stays IDLE_MS after its last job, since images are
 * usually pulled, verified and materialized in a row; then its threads end (lib/workers.ts).
 */
export type { FileJob };

const GROUP_BYTES = 4 << 20;
const GROUP_FILES = 64;
const IDLE_MS = 10_000;

let pool: WorkerPool<FilesJob, FilesOutcome> | null = null;
const workers = () => (pool ??= new WorkerPool<FilesJob, FilesOutcome>(new URL('./file-worker.ts', import.meta.url), { batch: 1, idleMs: IDLE_MS }));

/** Starts the workers ahead of their first files (each takes tens of milliseconds to load), e.g. while a manifest is decoded. */
export function warmFileWorkers(): void {
  workers().warmUp();
}

/** What the caller turns a failed file into (its own message around the worker's). */
export interface FileFailure<F extends FileJob = FileJob> {
  file: F;
  code: ImageError['code'];
  message: string;
  /** For FILE_TAMPERED: the BLAKE3 the content had. */
  got?: string;
}

/**
 * Runs every file; `onFile` after each group for the files it finished, `onReused` for files
 * whose `existing` copy was used. Throws the error `fail` makes of the first failure, once the
 * groups in flight have settled.
 */
export async function runFileJobs<F extends FileJob & { size: number }>(
  store: string,
  files: F[],
  fail: (f: FileFailure<F>) => Error,
  onFile: (f: F) => void = () => {},
  onReused: (f: F) => void = () => {},
): Promise<void> {
  const groups: F[][] = [];
  let group: F[] = [];
  let bytes = 0;
  // Largest first, so no large file is left for one worker at the end.
  for (const f of [...files].sort((a, b) => b.size - a.size)) {
    group.push(f);
    bytes += f.size;
    if (bytes >= GROUP_BYTES || group.length >= GROUP_FILES) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
  }
  if (group.length > 0) groups.push(group);
  await mapLimit(groups, 2 * availableParallelism(), async (g) => {
    const out = await workers().run({
      store,
      // Only the fields a worker reads (callers pass whole manifest entries).
      files: g.map(({ path, blake3, extents, existing, dest, meta, publish, links }) => ({
        path,
        blake3,
        extents,
        ...(existing === undefined ? {} : { existing }),
        ...(dest === undefined ? {} : { dest }),
        ...(meta ? { meta } : {}),
        ...(publish === undefined ? {} : { publish }),
        ...(links ? { links } : {}),
      })),
    });
    const done = out.failed?.index ?? g.length;
    for (const f of g.slice(0, done)) onFile(f);
    for (const i of out.reused ?? []) onReused(g[i]!);
    if (out.failed) throw fail({ file: g[out.failed.index]!, code: out.failed.code, message: out.failed.message, ...(out.failed.got ? { got: out.failed.got } : {}) });
  });
}
