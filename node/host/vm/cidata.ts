import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../../lib/log.ts';
import { run } from '../exec.ts';
import type { CloudInitFiles } from './cloudinit.ts';
import { VmError } from './errors.ts';

/** The label cloud-init's NoCloud source looks for (zos writes it in lower case too). */
export const CIDATA_LABEL = 'cidata';

/**
 * Write a full VM's NoCloud seed disk at `path`: a vfat filesystem labelled `cidata` holding the
 * files, as zos' 2 MB FAT image. Built without mounting anything (mkfs.fat from dosfstools, mcopy
 * from mtools) under a temporary name and renamed into place, so a failure leaves neither a
 * half-written disk nor its staging files behind.
 */
export async function writeSeedDisk(path: string, files: CloudInitFiles, log?: Logger): Promise<void> {
  const tmp = `${path}.tmp`;
  const staging = `${path}.files`;
  const names = Object.keys(files) as (keyof CloudInitFiles)[];
  const bytes = names.reduce((n, f) => n + Buffer.byteLength(files[f]), 0);
  // 2 MiB as zos, more for large user data (FAT's own tables and clusters need room too).
  const kib = Math.max(2048, Math.ceil((bytes * 2) / 1024) + 1024);
  try {
    await rm(tmp, { force: true });
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging);
    await Promise.all(names.map((f) => writeFile(join(staging, f), files[f])));
    await run('mkfs.fat', ['-C', '-n', CIDATA_LABEL, tmp, String(kib)], { log });
    await run('mcopy', ['-i', tmp, ...names.map((f) => join(staging, f)), '::/'], { log });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new VmError('START_FAILED', `failed to create cloud-init image: ${(err as Error).message}`, { cause: err });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
