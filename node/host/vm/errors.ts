/** Errors of the VM host; messages are what a workload's result shows. */
export type VmErrorCode =
  | 'NO_GUEST_KERNEL'
  | 'BAD_SPEC'
  | 'START_FAILED'
  | 'CRASHED'
  | 'QMP'
  | 'NOT_FOUND';

export class VmError extends Error {
  override readonly name = 'VmError';
  constructor(
    readonly code: VmErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
