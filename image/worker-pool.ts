import { WorkerPool, execArgvWithoutTsx } from '../lib/workers.ts';
import type { StoreFilesJob, StoreFilesOutcome } from './build-worker.ts';
import type { FilesJob, FilesOutcome } from './file-worker.ts';
import type { ImageJob, ImageOutcome } from './worker.ts';

/**
 * The image library's worker threads, one per core, shared by builds and by the file jobs of
 * verify and materialize (image/worker.ts). A worker costs ~80-150 ms of CPU to start (node,
 * zstd, BLAKE3, its module graph), and a fresh one runs its first files slower still (code not
 * yet optimized, memory not yet faulted in): a build right after a materialize, or a verify right
 * after a build, finds them up. They stay IDLE_MS after their last job, since images are usually
 * built, pulled, verified and materialized in a row; then their threads end (lib/workers.ts).
 * Without the main thread's tsx preload (tests and benchmarks run under it; the bootstrap
 * registers tsx where a worker needs it).
 */
const IDLE_MS = 10_000;

let pool: WorkerPool<ImageJob, ImageOutcome> | undefined;
const workers = () => (pool ??= new WorkerPool<ImageJob, ImageOutcome>(new URL('./worker.ts', import.meta.url), { batch: 1, idleMs: IDLE_MS, execArgv: execArgvWithoutTsx() }));

/** Starts the workers ahead of their first job (each takes tens of milliseconds to load), e.g. while a tree is scanned or a manifest decoded. */
export function warmImageWorkers(): void {
  workers().warmUp();
}

/** A build's jobs (image/build-worker.ts) on the shared workers. */
export const buildWorkers = { run: (job: StoreFilesJob) => workers().run({ kind: 'build', job }) as Promise<StoreFilesOutcome> };

/** Verify's and materialize's jobs (image/file-worker.ts) on the shared workers. */
export const fileWorkers = { run: (job: FilesJob) => workers().run({ kind: 'files', job }) as Promise<FilesOutcome> };
