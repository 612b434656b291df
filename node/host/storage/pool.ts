// One btrfs pool: an image file on a loop device or real block devices, mounted at <dataDir>/pools/<name>/.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../../lib/log.ts';
import { run, type RunOptions } from '../exec.ts';
import {
  attachImage,
  detachImage,
  detectPoolType,
  ensureFilesystem,
  loopDevicesFor,
  mountAt,
  mountPool,
} from './attach.ts';
import { StorageError } from './errors.ts';
import { VDISKS_SUBVOLUME } from './names.ts';
import { parseFilesystemUsage } from './parse.ts';
import { Subvolumes } from './subvolumes.ts';
import { VDisks } from './vdisks.ts';
import type {
  DevicePoolConfig,
  DiskInfo,
  ImagePoolConfig,
  OpOptions,
  PoolInfo,
  PoolType,
  StoragePool,
  VolumeInfo,
} from './types.ts';

export interface BtrfsPoolOptions {
  config: ImagePoolConfig | DevicePoolConfig;
  /** Pools live in `<dataDir>/pools/`. */
  dataDir: string;
  log: Logger;
  /** close() leaves the filesystem mounted and the loop device attached. */
  keepMounted?: boolean;
}

type State = 'new' | 'started' | 'closed';

/** Where a node's pools are mounted (and their images kept). */
export function poolsDirOf(dataDir: string): string {
  return join(dataDir, 'pools');
}

export class BtrfsPool implements StoragePool {
  readonly name: string;
  readonly mountpoint: string;
  /** `<dataDir>/pools/<name>.img` for image pools. */
  readonly image: string | undefined;
  readonly label: string;
  #type: PoolType;
  #state: State = 'new';
  /** Started successfully and not yet unmounted/detached by close(). */
  #holding = false;
  /** Filesystem size in bytes, read at start (it only changes when start grows the image). */
  #size = 0;
  readonly #config: ImagePoolConfig | DevicePoolConfig;
  readonly #log: Logger;
  readonly #keepMounted: boolean;
  readonly #subvolumes: Subvolumes;
  readonly #vdisks: VDisks;

  constructor(opts: BtrfsPoolOptions) {
    this.#config = opts.config;
    this.name = opts.config.name;
    const poolsDir = poolsDirOf(opts.dataDir);
    this.mountpoint = join(poolsDir, this.name);
    this.image = 'image' in opts.config ? join(poolsDir, `${this.name}.img`) : undefined;
    this.label = `zos-${this.name}`;
    this.#type = opts.config.type ?? 'ssd';
    this.#log = opts.log.child({ pool: this.name });
    this.#keepMounted = opts.keepMounted ?? false;
    this.#subvolumes = new Subvolumes(this.name, this.mountpoint);
    this.#vdisks = new VDisks(this.name, this.mountpoint);
  }

  get type(): PoolType {
    return this.#type;
  }

  /** Idempotent: adopts an existing mount or loop device, re-mounts otherwise; undoes its own steps on failure. */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.#state === 'started') return;
    if (this.#state === 'closed') throw new StorageError('CLOSED', `pool ${this.name} is closed`);
    const ro: RunOptions = { signal, log: this.#log };
    const undo: Array<() => Promise<unknown>> = [];
    try {
      await mkdir(this.mountpoint, { recursive: true });
      let devices: string[];
      let grown = false;
      if (this.image && 'image' in this.#config) {
        const img = await attachImage(this.image, this.#config.image.size, ro);
        if (img.created) undo.push(() => rm(this.image!, { force: true }));
        if (img.attached) undo.push(() => run('losetup', ['-d', img.device], { log: this.#log }));
        devices = [img.device];
        grown = img.grown;
      } else {
        const cfg = this.#config as DevicePoolConfig;
        devices = cfg.devices;
        this.#type = cfg.type ?? (await detectPoolType(devices[0]!));
      }
      const mounted = await mountAt(this.mountpoint);
      if (mounted) {
        await this.assertOurs(mounted.fstype, ro);
      } else {
        const force = 'force' in this.#config ? this.#config.force : false;
        if (await ensureFilesystem(devices, this.label, force, ro)) this.#log.info({ devices }, 'created btrfs');
        await mountPool(devices, this.mountpoint, ro);
        undo.push(() => run('umount', [this.mountpoint], { log: this.#log }));
      }
      if (grown) await run('btrfs', ['filesystem', 'resize', 'max', this.mountpoint], ro);
      await run('btrfs', ['quota', 'enable', this.mountpoint], ro);
      await this.ensureVdisksSubvolume(ro);
      this.#size = (await this.usage(ro)).deviceSize;
      this.#state = 'started';
      this.#holding = true;
      this.#log.info({ devices, mountpoint: this.mountpoint, adopted: Boolean(mounted) }, 'pool started');
    } catch (err) {
      for (const step of undo.reverse()) {
        await step().catch((e: unknown) => this.#log.error({ err: e }, 'pool start: undo step failed'));
      }
      throw err;
    }
  }

  private async assertOurs(fstype: string, ro: RunOptions): Promise<void> {
    const label = fstype === 'btrfs' ? await run('btrfs', ['filesystem', 'label', this.mountpoint], ro) : '';
    if (label !== this.label) {
      throw new StorageError(
        'FOREIGN_FILESYSTEM',
        `${this.mountpoint} is already mounted with ${fstype}${label ? ` label ${label}` : ''}, expected btrfs label ${this.label}`,
      );
    }
  }

  private async ensureVdisksSubvolume(ro: RunOptions): Promise<void> {
    const dir = join(this.mountpoint, VDISKS_SUBVOLUME);
    const exists = await run('btrfs', ['subvolume', 'show', dir], ro).then(
      () => true,
      () => false,
    );
    if (!exists) await run('btrfs', ['subvolume', 'create', dir], ro);
    // NOCOW for VM disks: set on the directory so every new file inherits it.
    await run('chattr', ['+C', dir], ro);
  }

  /**
   * Idempotent. Unmounts and detaches this pool's loop devices unless keepMounted; the data stays
   * on disk. `release: true` unmounts even a keepMounted pool (tests, decommissioning).
   */
  async close(opts: { release?: boolean } = {}): Promise<void> {
    this.#state = 'closed';
    if (!this.#holding || !(opts.release ?? !this.#keepMounted)) return;
    // A failed unmount (busy) leaves #holding set so that calling close() again retries.
    const ro: RunOptions = { log: this.#log };
    if (await mountAt(this.mountpoint)) await run('umount', [this.mountpoint], ro);
    if (this.image) await detachImage(this.image, ro);
    this.#holding = false;
    this.#log.info('pool closed');
  }

  private ready(opts: OpOptions | undefined): RunOptions {
    if (this.#state !== 'started') {
      throw new StorageError(this.#state === 'closed' ? 'CLOSED' : 'NOT_STARTED', `pool ${this.name} is ${this.#state === 'closed' ? 'closed' : 'not started'}`);
    }
    return { signal: opts?.signal, log: opts?.log ?? this.#log };
  }

  private async usage(ro: RunOptions) {
    return parseFilesystemUsage(await run('btrfs', ['filesystem', 'usage', '-b', this.mountpoint], ro));
  }

  /** Filesystem size in bytes (cached from start; no command). */
  get size(): number {
    this.ready(undefined);
    return this.#size;
  }

  async info(opts?: OpOptions): Promise<PoolInfo> {
    const usage = await this.usage(this.ready(opts));
    this.#size = usage.deviceSize;
    return { name: this.name, type: this.#type, size: usage.deviceSize, used: usage.used };
  }

  /** Loop devices backing this pool's image (empty for device pools); for diagnostics and tests. */
  async loopDevices(): Promise<string[]> {
    return this.image ? loopDevicesFor(this.image, { log: this.#log }) : [];
  }

  createSubvolume(name: string, quotaBytes: number, opts?: OpOptions): Promise<VolumeInfo> {
    return this.#subvolumes.create(name, quotaBytes, this.ready(opts));
  }
  resizeSubvolume(name: string, quotaBytes: number, opts?: OpOptions): Promise<VolumeInfo> {
    return this.#subvolumes.resize(name, quotaBytes, this.ready(opts));
  }
  deleteSubvolume(name: string, opts?: OpOptions): Promise<void> {
    return this.#subvolumes.delete(name, this.ready(opts));
  }
  subvolumeInfo(name: string, opts?: OpOptions): Promise<VolumeInfo | undefined> {
    return this.#subvolumes.info(name, this.ready(opts));
  }
  listSubvolumes(opts?: OpOptions): Promise<VolumeInfo[]> {
    return this.#subvolumes.list(this.ready(opts));
  }

  async createDisk(name: string, sizeBytes: number, opts?: OpOptions): Promise<DiskInfo> {
    this.ready(opts);
    return this.#vdisks.create(name, sizeBytes);
  }
  async resizeDisk(name: string, sizeBytes: number, opts?: OpOptions): Promise<DiskInfo> {
    this.ready(opts);
    return this.#vdisks.resize(name, sizeBytes);
  }
  async deleteDisk(name: string, opts?: OpOptions): Promise<void> {
    this.ready(opts);
    return this.#vdisks.delete(name);
  }
  async diskInfo(name: string, opts?: OpOptions): Promise<DiskInfo | undefined> {
    this.ready(opts);
    return this.#vdisks.info(name);
  }
  async listDisks(opts?: OpOptions): Promise<DiskInfo[]> {
    this.ready(opts);
    return this.#vdisks.list();
  }
}
