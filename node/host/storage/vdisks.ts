// Raw sparse disk files in the pool's NOCOW `vdisks` subvolume (zmount workloads).
import { open, readdir, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { StorageError } from './errors.ts';
import { VDISKS_SUBVOLUME, assertObjectName, assertSize } from './names.ts';
import type { DiskInfo } from './types.ts';

export class VDisks {
  readonly dir: string;

  constructor(
    private readonly pool: string,
    mountpoint: string,
  ) {
    this.dir = join(mountpoint, VDISKS_SUBVOLUME);
  }

  private path(name: string): string {
    return join(this.dir, name);
  }

  async info(name: string): Promise<DiskInfo | undefined> {
    assertObjectName(name);
    try {
      const st = await stat(this.path(name));
      if (!st.isFile()) throw new StorageError('EXISTS', `${this.path(name)} exists but is not a regular file`);
      return { name, pool: this.pool, path: this.path(name), size: st.size, allocated: st.blocks * 512 };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** New files inherit NOCOW from the directory (chattr +C only works on empty files). */
  async create(name: string, size: number): Promise<DiskInfo> {
    assertObjectName(name);
    assertSize(size);
    let fh;
    try {
      fh = await open(this.path(name), 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new StorageError('EXISTS', `disk ${name} already exists in pool ${this.pool}`);
      }
      throw err;
    }
    try {
      await fh.truncate(size);
      await fh.close();
    } catch (err) {
      await fh.close().catch(() => undefined);
      await rm(this.path(name), { force: true });
      throw err;
    }
    return (await this.info(name))!;
  }

  async resize(name: string, size: number): Promise<DiskInfo> {
    assertSize(size);
    const current = await this.info(name);
    if (!current) throw new StorageError('NOT_FOUND', `disk ${name} not found in pool ${this.pool}`);
    if (size < current.size) {
      throw new StorageError('SHRINK_NOT_ALLOWED', `cannot shrink disk ${name} from ${current.size} to ${size} bytes`);
    }
    if (size === current.size) return current;
    await truncate(this.path(name), size);
    return (await this.info(name))!;
  }

  async delete(name: string): Promise<void> {
    assertObjectName(name);
    await rm(this.path(name), { force: true });
  }

  async list(): Promise<DiskInfo[]> {
    const out: DiskInfo[] = [];
    for (const entry of await readdir(this.dir, { withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const info = await this.info(entry.name).catch(() => undefined);
      if (info) out.push(info);
    }
    return out;
  }
}
