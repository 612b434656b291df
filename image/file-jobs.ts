import { availableParallelism } from 'node:os';
import { WorkerPool } from '../lib/workers.ts';
import { ImageError } from './errors.ts';
import { FILES_SHARED, LOGGED, UNWRITTEN, type FileJob, type FilesJob, type FilesOutcome } from './file-worker.ts';

/**
 * Checks (and writes) files from a directory store on worker threads, one per core
 * (image/file-worker.ts). Every worker gets the whole list (largest first) and a shared cursor:
 * each takes the next file as it finishes one (Atomics), with no round trip to this thread in
 * between, so a worker never waits for this thread's turn (under load that wait was tens of ms
 * per 4 MiB group), and the two finish within one file of each other. Finished files are logged in
 * shared memory, which this thread reads every POLL_MS for progress (and the caller's writeback
 * kicks); the first failure stops the others before their next file. A worker costs ~80 ms of CPU
 * to start (node, zstd, BLAKE3): the pool stays IDLE_MS after its last job, since images are
 * usually pulled, verified and materialized in a row; then its threads end (lib/workers.ts).
 */
export type { FileJob };

const IDLE_MS = 10_000;
const POLL_MS = 4;

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
 * Runs every file; `onFile` for each file finished (soon after, in the order they finished),
 * `onReused` for files whose `existing` copy was used. Throws the error `fail` makes of the first
 * failure (in list order), once every worker has stopped.
 */
export async function runFileJobs<F extends FileJob & { size: number }>(
  store: string,
  files: F[],
  fail: (f: FileFailure<F>) => Error,
  onFile: (f: F) => void = () => {},
  onReused: (f: F) => void = () => {},
): Promise<void> {
  if (files.length === 0) return;
  // Largest first, so no large file is left for one worker at the end.
  const list = [...files].sort((a, b) => b.size - a.size);
  const shared = new SharedArrayBuffer(4 * (FILES_SHARED + list.length));
  const log = new Int32Array(shared);
  log.fill(UNWRITTEN, FILES_SHARED); // a slot is taken (LOGGED) a moment before it is written
  // Only the fields a worker reads (callers pass whole manifest entries), as one string: a string
  // is copied to each worker as is, where a structured clone walks every object once per worker.
  const json = JSON.stringify(
    list.map(({ path, blake3, extents, existing, dest, meta, publish, links }) => ({ path, blake3, extents, existing, dest, meta, publish, links })),
  );
  let seen = 0;
  const drain = () => {
    for (const end = Atomics.load(log, LOGGED); seen < end; seen++) {
      const entry = Atomics.load(log, FILES_SHARED + seen);
      if (entry === UNWRITTEN) return; // the next poll takes it
      const f = list[entry >= 0 ? entry : ~entry]!;
      if (entry < 0) onReused(f);
      onFile(f);
    }
  };
  const poll = setInterval(drain, POLL_MS);
  let outcomes: FilesOutcome[];
  try {
    outcomes = await Promise.all(Array.from({ length: availableParallelism() }, () => workers().run({ store, files: json, shared })));
  } finally {
    clearInterval(poll);
  }
  drain(); // what finished since the last poll (every worker has returned: every slot is written)
  const failed = outcomes.flatMap((o) => (o.failed ? [o.failed] : [])).sort((a, b) => a.index - b.index)[0];
  if (failed) throw fail({ file: list[failed.index]!, code: failed.code, message: failed.message, ...(failed.got ? { got: failed.got } : {}) });
}
