// StorageHost: the node's pools, capacity figures, and volume/disk placement across pools.
import type { Logger } from '../../../lib/log.ts';
import { zodMessage } from '../../../lib/zod-issues.ts';
import { StorageError } from './errors.ts';
import { assertObjectName, assertSize } from './names.ts';
import { run } from '../exec.ts';
import { mountAt, sharePoolsDir } from './attach.ts';
import { BtrfsPool, poolsDirOf } from './pool.ts';
import {
  storageHostConfigSchema,
  type DiskInfo,
  type DiskStore,
  type OpOptions,
  type PoolInfo,
  type StorageHostConfig,
  type StorageTotals,
  type VolumeInfo,
  type VolumeStore,
} from './types.ts';
import { Serial } from '../../../lib/serial.ts';

export interface StorageHostOptions extends StorageHostConfig {
  log: Logger;
}

type State = 'new' | 'started' | 'closed';

export class StorageHost implements VolumeStore, DiskStore {
  readonly pools: readonly BtrfsPool[];
  readonly #log: Logger;
  readonly #poolsDir: string;
  readonly #keepMounted: boolean;
  #state: State = 'new';
  /** Operations run one at a time: placement decisions must see each other's results. */
  readonly #steps = new Serial();

  constructor(opts: StorageHostOptions) {
    const { log, ...raw } = opts;
    const parsed = storageHostConfigSchema.safeParse(raw);
    if (!parsed.success) {
      throw new StorageError('HOST', `invalid storage configuration: ${zodMessage(parsed.error)}`);
    }
    const cfg = parsed.data;
    this.#log = log.child({ component: 'storage' });
    this.#poolsDir = poolsDirOf(cfg.dataDir);
    this.#keepMounted = cfg.keepMounted;
    this.pools = cfg.pools.map(
      (config) => new BtrfsPool({ config, dataDir: cfg.dataDir, log: this.#log, keepMounted: cfg.keepMounted }),
    );
  }

  /** Starts every pool; if one fails, the ones already started are closed again. */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.#state === 'started') return;
    if (this.#state === 'closed') throw new StorageError('CLOSED', 'storage host is closed');
    const started: BtrfsPool[] = [];
    let bound = false;
    try {
      bound = await sharePoolsDir(this.#poolsDir, { signal, log: this.#log });
      for (const pool of this.pools) {
        await pool.start(signal);
        started.push(pool);
      }
    } catch (err) {
      for (const pool of started.reverse()) {
        await pool.close().catch((e: unknown) => this.#log.error({ err: e, pool: pool.name }, 'close after failed start'));
      }
      if (bound) await this.unbindPoolsDir().catch((e: unknown) => this.#log.error({ err: e }, 'unbind after failed start'));
      throw err;
    }
    this.#state = 'started';
  }

  /**
   * Idempotent; waits for the running operation, then closes pools in reverse order.
   * If a pool could not be released (mount busy), calling close() again retries it.
   * `release: true` unmounts and detaches even when configured with keepMounted.
   */
  async close(opts: { release?: boolean } = {}): Promise<void> {
    this.#state = 'closed';
    await this.#steps.idle();
    const errors: unknown[] = [];
    for (const pool of [...this.pools].reverse()) {
      await pool.close(opts).catch((err: unknown) => errors.push(err));
    }
    if (errors.length > 0) throw new AggregateError(errors, 'storage host: some pools did not close cleanly');
    // The pools' shared parent goes with them; a node keeping its pools mounted keeps it too.
    if (opts.release ?? !this.#keepMounted) await this.unbindPoolsDir();
  }

  private async unbindPoolsDir(): Promise<void> {
    if (await mountAt(this.#poolsDir)) await run('umount', [this.#poolsDir], { log: this.#log });
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#state !== 'started') {
      const closed = this.#state === 'closed';
      return Promise.reject(new StorageError(closed ? 'CLOSED' : 'NOT_STARTED', `storage host is ${closed ? 'closed' : 'not started'}`));
    }
    return this.#steps.run(fn);
  }

  /** `zos.storage.pools`. */
  poolsInfo(opts?: OpOptions): Promise<PoolInfo[]> {
    return this.exclusive(() => Promise.all(this.pools.map((p) => p.info(opts))));
  }

  /** Capacity totals: SRU = Σ SSD pool sizes, HRU = Σ HDD pool sizes. */
  async totals(opts?: OpOptions): Promise<StorageTotals> {
    const infos = await this.poolsInfo(opts);
    const sum = (type: string) => infos.filter((p) => p.type === type).reduce((a, p) => a + p.size, 0);
    return { sru: sum('ssd'), hru: sum('hdd') };
  }

  /**
   * Bytes of a pool not yet promised (volume quotas plus disk sizes): the filesystem itself would
   * happily overcommit sparse files and quotas.
   */
  private async unpromised(pool: BtrfsPool, opts?: OpOptions): Promise<number> {
    const [vols, disks] = await Promise.all([pool.listSubvolumes(opts), pool.listDisks(opts)]);
    return pool.size - vols.reduce((a, v) => a + v.size, 0) - disks.reduce((a, d) => a + d.size, 0);
  }

  private noSpace(size: number, free: number): StorageError {
    return new StorageError('NO_SPACE', `not enough storage space: ${size} bytes requested, ${Math.max(0, free)} available`);
  }

  /** The SSD pool with the most room left after what is already promised. */
  private async placeFor(size: number, opts?: OpOptions): Promise<BtrfsPool> {
    let best: { pool: BtrfsPool; free: number } | undefined;
    for (const pool of this.pools.filter((p) => p.type === 'ssd')) {
      const free = await this.unpromised(pool, opts);
      if (!best || free > best.free) best = { pool, free };
    }
    if (!best || best.free < size) throw this.noSpace(size, best?.free ?? 0);
    return best.pool;
  }

  /** A grown object must fit in its own pool like a new one (a resize cannot move it). */
  private async growIn(pool: BtrfsPool, from: number, to: number, opts?: OpOptions): Promise<void> {
    if (to <= from) return;
    const free = await this.unpromised(pool, opts);
    if (to - from > free) throw this.noSpace(to - from, free);
  }

  private async findSubvolume(name: string, opts?: OpOptions): Promise<[BtrfsPool, VolumeInfo] | undefined> {
    for (const pool of this.pools) {
      const info = await pool.subvolumeInfo(name, opts);
      if (info) return [pool, info];
    }
    return undefined;
  }

  private async findDisk(name: string, opts?: OpOptions): Promise<[BtrfsPool, DiskInfo] | undefined> {
    for (const pool of this.pools) {
      const info = await pool.diskInfo(name, opts);
      if (info) return [pool, info];
    }
    return undefined;
  }

  createSubvolume(name: string, quotaBytes: number, opts?: OpOptions): Promise<VolumeInfo> {
    return this.exclusive(async () => {
      assertObjectName(name);
      assertSize(quotaBytes);
      if (await this.findSubvolume(name, opts)) throw new StorageError('EXISTS', `subvolume ${name} already exists`);
      return (await this.placeFor(quotaBytes, opts)).createSubvolume(name, quotaBytes, opts);
    });
  }

  resizeSubvolume(name: string, quotaBytes: number, opts?: OpOptions): Promise<VolumeInfo> {
    return this.exclusive(async () => {
      const found = await this.findSubvolume(name, opts);
      if (!found) throw new StorageError('NOT_FOUND', `subvolume ${name} not found`);
      await this.growIn(found[0], found[1].size, quotaBytes, opts);
      return found[0].resizeSubvolume(name, quotaBytes, opts);
    });
  }

  deleteSubvolume(name: string, opts?: OpOptions): Promise<void> {
    return this.exclusive(async () => {
      const found = await this.findSubvolume(name, opts);
      if (found) await found[0].deleteSubvolume(name, opts);
    });
  }

  subvolumeInfo(name: string, opts?: OpOptions): Promise<VolumeInfo | undefined> {
    return this.exclusive(async () => (await this.findSubvolume(name, opts))?.[1]);
  }

  listSubvolumes(opts?: OpOptions): Promise<VolumeInfo[]> {
    return this.exclusive(async () => (await Promise.all(this.pools.map((p) => p.listSubvolumes(opts)))).flat());
  }

  createDisk(name: string, sizeBytes: number, opts?: OpOptions): Promise<DiskInfo> {
    return this.exclusive(async () => {
      assertObjectName(name);
      assertSize(sizeBytes);
      if (await this.findDisk(name, opts)) throw new StorageError('EXISTS', `disk ${name} already exists`);
      return (await this.placeFor(sizeBytes, opts)).createDisk(name, sizeBytes, opts);
    });
  }

  resizeDisk(name: string, sizeBytes: number, opts?: OpOptions): Promise<DiskInfo> {
    return this.exclusive(async () => {
      const found = await this.findDisk(name, opts);
      if (!found) throw new StorageError('NOT_FOUND', `disk ${name} not found`);
      await this.growIn(found[0], found[1].size, sizeBytes, opts);
      return found[0].resizeDisk(name, sizeBytes, opts);
    });
  }

  deleteDisk(name: string, opts?: OpOptions): Promise<void> {
    return this.exclusive(async () => {
      const found = await this.findDisk(name, opts);
      if (found) await found[0].deleteDisk(name, opts);
    });
  }

  diskInfo(name: string, opts?: OpOptions): Promise<DiskInfo | undefined> {
    return this.exclusive(async () => (await this.findDisk(name, opts))?.[1]);
  }

  listDisks(opts?: OpOptions): Promise<DiskInfo[]> {
    return this.exclusive(async () => (await Promise.all(this.pools.map((p) => p.listDisks(opts)))).flat());
  }
}
