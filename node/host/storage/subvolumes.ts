// Btrfs subvolumes with a qgroup limit on referenced bytes, directly under a pool's mountpoint.
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { failpoint } from '../../../lib/failpoints.ts';
import { run, type RunOptions } from '../exec.ts';
import { StorageError } from './errors.ts';
import { VDISKS_SUBVOLUME, assertObjectName, assertSize } from './names.ts';
import { parseQgroupShow, type QgroupRow } from './parse.ts';
import type { VolumeInfo } from './types.ts';

/** The root directory of every btrfs subvolume has inode number 256. */
const SUBVOLUME_ROOT_INO = 256;

export class Subvolumes {
  constructor(
    private readonly pool: string,
    private readonly mountpoint: string,
  ) {}

  private path(name: string): string {
    return join(this.mountpoint, name);
  }

  private toInfo(name: string, row: QgroupRow): VolumeInfo {
    return { name, pool: this.pool, path: this.path(name), size: row.maxReferenced ?? 0, used: row.referenced };
  }

  private async isSubvolume(path: string): Promise<boolean> {
    try {
      const st = await lstat(path);
      if (st.isDirectory() && st.ino === SUBVOLUME_ROOT_INO) return true;
      throw new StorageError('EXISTS', `${path} exists but is not a subvolume`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  private async qgroup(name: string, sync: boolean, opts: RunOptions): Promise<QgroupRow> {
    const args = ['qgroup', 'show', '-re', '--raw', ...(sync ? ['--sync'] : []), '-f', this.path(name)];
    const row = parseQgroupShow(await run('btrfs', args, opts)).find((r) => r.path === name);
    if (!row) throw new StorageError('HOST', `no qgroup for subvolume ${name} in pool ${this.pool}`);
    return row;
  }

  /** `sync` commits the filesystem first so `used` counts recent writes. */
  async info(name: string, opts: RunOptions, sync = false): Promise<VolumeInfo | undefined> {
    assertObjectName(name);
    if (!(await this.isSubvolume(this.path(name)))) return undefined;
    return this.toInfo(name, await this.qgroup(name, sync, opts));
  }

  async create(name: string, quotaBytes: number, opts: RunOptions): Promise<VolumeInfo> {
    assertObjectName(name);
    assertSize(quotaBytes);
    if (await this.isSubvolume(this.path(name))) {
      throw new StorageError('EXISTS', `subvolume ${name} already exists in pool ${this.pool}`);
    }
    await run('btrfs', ['subvolume', 'create', this.path(name)], opts);
    try {
      await failpoint('storage.subvolume.created', opts.signal); // crash tests: a subvolume without its quota
      await run('btrfs', ['qgroup', 'limit', String(quotaBytes), this.path(name)], opts);
      return this.toInfo(name, await this.qgroup(name, false, opts));
    } catch (err) {
      // Undo: a subvolume without its quota must not linger.
      await run('btrfs', ['subvolume', 'delete', '-c', this.path(name)], opts).catch((e: unknown) =>
        opts.log?.error({ err: e, name }, 'could not remove subvolume after failed create'),
      );
      throw err;
    }
  }

  async resize(name: string, quotaBytes: number, opts: RunOptions): Promise<VolumeInfo> {
    assertSize(quotaBytes);
    assertObjectName(name);
    if (!(await this.isSubvolume(this.path(name)))) {
      throw new StorageError('NOT_FOUND', `subvolume ${name} not found in pool ${this.pool}`);
    }
    const row = await this.qgroup(name, true, opts);
    if (quotaBytes < row.referenced) {
      throw new StorageError(
        'BELOW_USED',
        `cannot resize volume ${name} to ${quotaBytes} bytes: ${row.referenced} bytes are in use`,
      );
    }
    await failpoint('storage.subvolume.resize', opts.signal);
    // Addressing the qgroup from the pool root: run inside a subvolume over its limit, the
    // ioctl's own transaction would fail with EDQUOT.
    await run('btrfs', ['qgroup', 'limit', String(quotaBytes), row.qgroupid, this.mountpoint], opts);
    return this.toInfo(name, { ...row, maxReferenced: quotaBytes });
  }

  async delete(name: string, opts: RunOptions): Promise<void> {
    assertObjectName(name);
    if (!(await this.isSubvolume(this.path(name)))) return;
    const row = await this.qgroup(name, false, opts);
    await run('btrfs', ['subvolume', 'delete', '-c', this.path(name)], opts);
    // The cleaner thread drops a deleted subvolume later; until it has, its qgroup cannot be
    // destroyed and shows as <stale> (newer kernels drop it themselves once cleaned, older ones
    // never do). Waiting for that subvolume alone makes the delete leave nothing behind.
    await run('btrfs', ['subvolume', 'sync', this.mountpoint, row.qgroupid.split('/')[1]!], opts);
    await run('btrfs', ['qgroup', 'destroy', row.qgroupid, this.mountpoint], opts).catch(() => undefined);
  }

  async list(opts: RunOptions): Promise<VolumeInfo[]> {
    const rows = parseQgroupShow(await run('btrfs', ['qgroup', 'show', '-re', '--raw', this.mountpoint], opts));
    return rows
      .filter((r) => !r.path.startsWith('<') && !r.path.includes('/') && r.path !== VDISKS_SUBVOLUME)
      .map((r) => this.toInfo(r.path, r));
  }
}
