import { StorageError } from './errors.ts';

/** Subvolume holding the raw vdisk files; it never collides with a volume name (see assertObjectName). */
export const VDISKS_SUBVOLUME = 'vdisks';
const RESERVED = new Set([VDISKS_SUBVOLUME]);
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/**
 * The host object name for a workload id (`twin-contract-name`). Workload ids already only hold
 * [A-Za-z0-9_-]; anything else becomes "_" so a name can never escape its directory.
 */
export function storageName(workloadId: string): string {
  const name = workloadId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 128);
  return /^[A-Za-z0-9]/.test(name) ? name : `w${name}`.slice(0, 128);
}

/** Names of subvolumes and vdisks are single path components we chose; reject anything else. */
export function assertObjectName(name: string): void {
  if (!NAME_RE.test(name) || RESERVED.has(name)) {
    throw new StorageError('INVALID_NAME', `invalid storage object name ${JSON.stringify(name)}`);
  }
}

export function assertSize(size: number): void {
  if (!Number.isSafeInteger(size) || size <= 0) {
    throw new StorageError('INVALID_SIZE', `invalid size ${size}: must be a positive integer number of bytes`);
  }
}
