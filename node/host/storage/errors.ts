/** Codes for StorageError; the first group is caused by the request, the second by the host. */
export const STORAGE_USER_ERROR_CODES = ['INVALID_NAME', 'INVALID_SIZE', 'SHRINK_NOT_ALLOWED', 'BELOW_USED'] as const;
export const STORAGE_SYSTEM_ERROR_CODES = [
  'NOT_FOUND',
  'EXISTS',
  'NO_SPACE',
  'FOREIGN_FILESYSTEM',
  'NOT_STARTED',
  'CLOSED',
  'HOST',
] as const;

export type StorageErrorCode =
  | (typeof STORAGE_USER_ERROR_CODES)[number]
  | (typeof STORAGE_SYSTEM_ERROR_CODES)[number];

export class StorageError extends Error {
  override readonly name = 'StorageError';

  constructor(
    readonly code: StorageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get isUserError(): boolean {
    return (STORAGE_USER_ERROR_CODES as readonly string[]).includes(this.code);
  }

  static is(err: unknown, code?: StorageErrorCode): err is StorageError {
    return err instanceof StorageError && (code === undefined || err.code === code);
  }
}
