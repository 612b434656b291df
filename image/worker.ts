import { work as storeFiles, type StoreFilesJob, type StoreFilesOutcome } from './build-worker.ts';
import { work as runFiles, type FilesJob, type FilesOutcome } from './file-worker.ts';

/**
 * The one module the image library's worker threads load (image/worker-pool.ts): a build's files
 * (image/build-worker.ts) and the files verify and materialize check or write
 * (image/file-worker.ts) run on the same threads, so whichever comes next finds them started.
 */
export type ImageJob = { kind: 'build'; job: StoreFilesJob } | { kind: 'files'; job: FilesJob };
export type ImageOutcome = StoreFilesOutcome | FilesOutcome;

export function work(j: ImageJob): Promise<ImageOutcome> {
  return j.kind === 'build' ? storeFiles(j.job) : runFiles(j.job);
}
