/** Error codes of the image component. User errors are caused by bad input; system errors by the host or a store. */
export const ImageUserErrors = {
  BAD_REF: 'BAD_REF',
  BAD_MANIFEST: 'BAD_MANIFEST',
  BAD_INPUT: 'BAD_INPUT',
  NOT_FOUND: 'NOT_FOUND',
} as const;

export const ImageSystemErrors = {
  CHUNK_CORRUPT: 'CHUNK_CORRUPT',
  MANIFEST_CORRUPT: 'MANIFEST_CORRUPT',
  FILE_TAMPERED: 'FILE_TAMPERED',
  STORE_IO: 'STORE_IO',
  READ_ONLY: 'READ_ONLY',
  HOST: 'HOST',
  CLOSED: 'ERR_CLOSED',
} as const;

export const ImageErrorCodes = { ...ImageUserErrors, ...ImageSystemErrors } as const;
export type ImageErrorCode = (typeof ImageErrorCodes)[keyof typeof ImageErrorCodes];

export class ImageError extends Error {
  override readonly name = 'ImageError';
  constructor(
    readonly code: ImageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
