export { StorageHost, type StorageHostOptions } from './host.ts';
export { BtrfsPool, type BtrfsPoolOptions } from './pool.ts';
export { StorageError, type StorageErrorCode } from './errors.ts';
export { storageName, VDISKS_SUBVOLUME } from './names.ts';
export * from './types.ts';
