import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { ImageError } from './errors.ts';
import { isRoot } from './fsutil.ts';

/**
 * Writable per-workload roots over one shared, verified, read-only image tree (SPEC.md §9):
 * overlayfs (lower = image tree, upper/work per workload), or on btrfs a reflink copy. Either
 * way N workloads from one image cost one copy of the image on disk.
 */
export type RootMode = 'overlay' | 'reflink';

export interface WorkloadRoot {
  path: string;
  mode: RootMode;
  /** Unmount and delete the workload's writable layer. Idempotent. */
  release(): Promise<void>;
}

const WORKLOAD_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export async function overlaySupported(): Promise<boolean> {
  if (!isRoot()) return false;
  const fs = await readFile('/proc/filesystems', 'utf8').catch(() => '');
  return /\toverlay$/m.test(fs);
}

/** The fields of the mount table's line for `path` (mountinfo(5)), if something is mounted there. */
async function mountAt(path: string): Promise<string[] | undefined> {
  const info = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const want = resolve(path);
  return info.split('\n').map((l) => l.split(' ')).find((f) => f[4]?.replace(/\\040/g, ' ') === want);
}

async function isMountPoint(path: string): Promise<boolean> {
  return (await mountAt(path)) !== undefined;
}

export class RootManager {
  constructor(
    readonly dir: string,
    private readonly mode: RootMode | 'auto' = 'auto',
  ) {}

  workloadDir(workloadId: string): string {
    if (!WORKLOAD_ID.test(workloadId)) throw new ImageError('BAD_INPUT', `bad workload id "${workloadId}": use [A-Za-z0-9._-], up to 128 characters`);
    return join(this.dir, workloadId);
  }

  private async pickMode(): Promise<RootMode> {
    if (this.mode !== 'auto') return this.mode;
    return (await overlaySupported()) ? 'overlay' : 'reflink';
  }

  /**
   * Give `workloadId` a writable root over the image tree `lower` (already verified by the caller).
   * `layerDir` puts the overlay's upper and work directories elsewhere (e.g. on a volume sized for
   * the workload); the caller owns that directory and removes it.
   */
  async attach(lower: string, workloadId: string, opts: { layerDir?: string } = {}): Promise<WorkloadRoot> {
    const base = this.workloadDir(workloadId);
    const layer = opts.layerDir ?? base;
    const merged = join(base, 'root');
    const mode = await this.pickMode();
    await mkdir(base, { recursive: true });
    if (mode === 'overlay') {
      if ([lower, base, layer].some((p) => /[,:\\]/.test(p))) throw new ImageError('BAD_INPUT', `overlayfs paths may not contain ',', ':' or '\\': ${lower}, ${layer}`);
      if (!(await isMountPoint(merged))) {
        for (const d of [join(layer, 'upper'), join(layer, 'work'), merged]) await mkdir(d, { recursive: true });
        const o = `lowerdir=${lower},upperdir=${join(layer, 'upper')},workdir=${join(layer, 'work')}`;
        const r = await execa('mount', ['-t', 'overlay', 'overlay', '-o', o, merged], { reject: false });
        if (r.exitCode !== 0) throw new ImageError('HOST', `mount overlay for workload ${workloadId} failed: ${r.stderr.trim()}`);
      }
    } else if (!(await stat(merged).then(() => true, () => false))) {
      const tmp = `${merged}.partial`;
      await rm(tmp, { recursive: true, force: true });
      const r = await execa('cp', ['-a', '--reflink=always', lower, tmp], { reject: false });
      if (r.exitCode !== 0) {
        await rm(tmp, { recursive: true, force: true });
        throw new ImageError('HOST', `reflink copy for workload ${workloadId} failed (needs btrfs/xfs, or use overlay): ${r.stderr.trim()}`);
      }
      await execa('mv', ['-T', tmp, merged]);
    }
    return { path: merged, mode, release: () => this.release(workloadId) };
  }

  /**
   * The image tree under a workload's root, read from the mount table: an overlay's lowerdir
   * (attach forbids ',' in it). Undefined for a reflink copy, which needs no tree, or no root.
   */
  async lowerOf(workloadId: string): Promise<string | undefined> {
    const f = await mountAt(join(this.workloadDir(workloadId), 'root'));
    const rest = f?.slice(f.indexOf('-') + 1) ?? []; // after the separator: fstype, source, super options
    if (rest[0] !== 'overlay') return undefined;
    return /(?:^|,)lowerdir=([^,]*)/.exec(rest[2] ?? '')?.[1]?.replace(/\\040/g, ' ');
  }

  async release(workloadId: string): Promise<void> {
    const base = this.workloadDir(workloadId);
    const merged = join(base, 'root');
    if (await isMountPoint(merged)) {
      const r = await execa('umount', [merged], { reject: false });
      if (r.exitCode !== 0) throw new ImageError('HOST', `umount ${merged} failed: ${r.stderr.trim()}`);
    }
    await rm(base, { recursive: true, force: true });
  }
}
