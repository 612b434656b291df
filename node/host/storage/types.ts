import { z } from 'zod';
import type { Logger } from '../../../lib/log.ts';

export type PoolType = 'ssd' | 'hdd';

/** One entry of `zos.storage.pools` (bytes). */
export interface PoolInfo {
  name: string;
  type: PoolType;
  size: number;
  used: number;
}

/** Capacity totals registered on the chain: SRU = Σ SSD pools, HRU = Σ HDD pools (bytes). */
export interface StorageTotals {
  sru: number;
  hru: number;
}

export interface VolumeInfo {
  name: string;
  pool: string;
  path: string;
  /** The qgroup limit on referenced bytes. */
  size: number;
  /** Referenced bytes as of the last transaction commit (operations that need it exact sync first). */
  used: number;
}

export interface DiskInfo {
  name: string;
  pool: string;
  path: string;
  /** Apparent size of the raw file. */
  size: number;
  /** Bytes actually allocated (sparse files start near 0). */
  allocated: number;
}

export interface OpOptions {
  signal?: AbortSignal;
  /** Per-call logger (e.g. the workload's child logger); defaults to the host's. */
  log?: Logger;
}

/** Btrfs subvolumes with a quota: what the volume primitive needs. */
export interface VolumeStore {
  createSubvolume(name: string, quotaBytes: number, opts?: OpOptions): Promise<VolumeInfo>;
  /** Grow or shrink the quota; never below the bytes in use. */
  resizeSubvolume(name: string, quotaBytes: number, opts?: OpOptions): Promise<VolumeInfo>;
  /** Removes the subvolume; a missing one is not an error. */
  deleteSubvolume(name: string, opts?: OpOptions): Promise<void>;
  /** Undefined when it does not exist. */
  subvolumeInfo(name: string, opts?: OpOptions): Promise<VolumeInfo | undefined>;
  listSubvolumes(opts?: OpOptions): Promise<VolumeInfo[]>;
}

/** Sparse NOCOW raw files ("vdisks"): what the zmount primitive needs. */
export interface DiskStore {
  createDisk(name: string, sizeBytes: number, opts?: OpOptions): Promise<DiskInfo>;
  /** Grow only. */
  resizeDisk(name: string, sizeBytes: number, opts?: OpOptions): Promise<DiskInfo>;
  /** Removes the file; a missing one is not an error. */
  deleteDisk(name: string, opts?: OpOptions): Promise<void>;
  diskInfo(name: string, opts?: OpOptions): Promise<DiskInfo | undefined>;
  listDisks(opts?: OpOptions): Promise<DiskInfo[]>;
}

/** One btrfs filesystem mounted under `<dataDir>/pools/<name>/`. */
export interface StoragePool extends VolumeStore, DiskStore {
  readonly name: string;
  readonly type: PoolType;
  readonly mountpoint: string;
  start(signal?: AbortSignal): Promise<void>;
  close(opts?: { release?: boolean }): Promise<void>;
  info(opts?: OpOptions): Promise<PoolInfo>;
}

const GiB = 1024 ** 3;
export const DEFAULT_POOL_IMAGE_SIZE = 20 * GiB;
/** mkfs.btrfs refuses anything much smaller (~114 MiB with DUP metadata). */
export const MIN_POOL_IMAGE_SIZE = 256 * 1024 ** 2;

const poolName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'pool name must match ^[a-z0-9][a-z0-9_-]{0,31}$');

/** A sparse image file `<dataDir>/pools/<name>.img` on a loop device. */
export const imagePoolConfigSchema = z
  .object({
    name: poolName,
    type: z.enum(['ssd', 'hdd']).default('ssd'),
    image: z
      .object({
        size: z.number().int().min(MIN_POOL_IMAGE_SIZE).max(Number.MAX_SAFE_INTEGER).default(DEFAULT_POOL_IMAGE_SIZE),
      })
      .strict()
      .default({ size: DEFAULT_POOL_IMAGE_SIZE }),
  })
  .strict();

/** Real block devices forming one btrfs filesystem. type defaults to /sys rotational detection. */
export const devicePoolConfigSchema = z
  .object({
    name: poolName,
    type: z.enum(['ssd', 'hdd']).optional(),
    devices: z.array(z.string().regex(/^\/dev\/[A-Za-z0-9/_.-]+$/, 'device must be a /dev path')).min(1),
    /** Format devices that carry another filesystem (destroys their data). */
    force: z.boolean().default(false),
  })
  .strict();

/** A pool with `devices` uses real block devices; anything else is an image pool. */
export const poolConfigSchema = z
  .custom<z.input<typeof devicePoolConfigSchema> | z.input<typeof imagePoolConfigSchema>>()
  .transform((value, ctx): z.output<typeof devicePoolConfigSchema> | z.output<typeof imagePoolConfigSchema> => {
    const isDevices = typeof value === 'object' && value !== null && 'devices' in value;
    const parsed = (isDevices ? devicePoolConfigSchema : imagePoolConfigSchema).safeParse(value);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
    return z.NEVER;
  });
export type PoolConfig = z.input<typeof devicePoolConfigSchema> | z.input<typeof imagePoolConfigSchema>;
export type ImagePoolConfig = z.output<typeof imagePoolConfigSchema>;
export type DevicePoolConfig = z.output<typeof devicePoolConfigSchema>;

export const storageHostConfigSchema = z
  .object({
    dataDir: z.string().min(1),
    pools: z
      .array(poolConfigSchema)
      .min(1)
      .default([{ name: 'default', type: 'ssd', image: { size: DEFAULT_POOL_IMAGE_SIZE } }])
      .refine((ps) => new Set(ps.map((p) => p.name)).size === ps.length, 'pool names must be unique'),
    /** close() leaves pools mounted and loop devices attached (a restarting daemon re-adopts them). */
    keepMounted: z.boolean().default(false),
  })
  .strict();
export type StorageHostConfig = z.input<typeof storageHostConfigSchema>;
