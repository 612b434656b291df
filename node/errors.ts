// One error class for the node. `code` says what happened; `message` is the exact text zos puts
// on the wire (RMB error envelope, workload result message), so clients see the same strings.

/** Caused by the request: reported back to the caller as-is. */
export const USER_ERROR_CODES = [
  'DEPLOYMENT_NOT_FOUND',
  'EXISTS',
  'CONFLICT',
  'TWIN_MISMATCH',
  'NOT_VERIFIED',
  'DELETION_DISABLED',
  'UNAUTHORIZED',
  'INVALID_VERSION',
  'INVALID_DEPLOYMENT',
  'UNSUPPORTED_WORKLOAD',
  'INVALID_SIGNATURE',
  'UPGRADE_INVALID',
  'BAD_REQUEST',
  'CONTRACT_NOT_FOUND',
] as const;

/** Caused by the node, the chain or the host. */
export const SYSTEM_ERROR_CODES = [
  'INVALID_NODE_ADDRESS',
  'HASH_MISMATCH',
  'INSUFFICIENT_MEMORY',
  'INSUFFICIENT_DISK',
  'WORKLOAD_NOT_FOUND',
  'STORE',
  'CLOSED',
  'INTERNAL',
] as const;

export type UserErrorCode = (typeof USER_ERROR_CODES)[number];
export type SystemErrorCode = (typeof SYSTEM_ERROR_CODES)[number];
export type ZosErrorCode = UserErrorCode | SystemErrorCode;

export class ZosError extends Error {
  override readonly name = 'ZosError';
  readonly code: ZosErrorCode;

  constructor(code: ZosErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  get isUserError(): boolean {
    return (USER_ERROR_CODES as readonly string[]).includes(this.code);
  }

  static is(err: unknown, code?: ZosErrorCode): err is ZosError {
    return err instanceof ZosError && (code === undefined || err.code === code);
  }
}

/** Go's errors.Wrap(err, msg) text: "msg: err". */
export function wrapMessage(msg: string, err: unknown): string {
  const inner = err instanceof Error ? err.message : String(err);
  return `${msg}: ${inner}`;
}

/** Constructors for every error whose text crosses the wire; the strings are zos' own. */
export const zosErrors = {
  deploymentNotFound: () => new ZosError('DEPLOYMENT_NOT_FOUND', 'deployment not found'),
  exists: (detail?: string) => new ZosError('EXISTS', detail ? `${detail}: exists` : 'exists'),
  conflict: (name: string) =>
    new ZosError('CONFLICT', `global workload with the same name '${name}' exists: conflict`),
  twinMismatch: (deploymentTwin: number, messageTwin: number) =>
    new ZosError('TWIN_MISMATCH', `twin id mismatch (deployment: ${deploymentTwin}, message: ${messageTwin})`),
  deletionDisabled: () =>
    new ZosError('DELETION_DISABLED', 'deletion over the api is disabled, please cancel your contract instead'),
  unauthorized: () => new ZosError('UNAUTHORIZED', 'unauthorized'),
  notVerified: (twin: number) => new ZosError('NOT_VERIFIED', `user with twin id ${twin} is not verified`),
  versionNotZero: () =>
    new ZosError('INVALID_VERSION', 'expected version to be 0 on deployment creation: invalid version'),
  invalidDeployment: (message: string, cause?: unknown) => new ZosError('INVALID_DEPLOYMENT', message, { cause }),
  /** One clause per workload: `workload 'vm': type 'zmachine' is not provisioned by this node`. */
  unsupportedWorkloads: (workloads: ReadonlyArray<{ name: string; type: string }>) =>
    new ZosError(
      'UNSUPPORTED_WORKLOAD',
      workloads.map((wl) => `workload '${wl.name}': type '${wl.type}' is not provisioned by this node`).join('; '),
    ),
  invalidSignature: (message: string, cause?: unknown) => new ZosError('INVALID_SIGNATURE', message, { cause }),
  /** zos wraps the reason with ErrDeploymentUpgradeValidationError: "<reason>: upgrade validation error". */
  upgradeInvalid: (reason: string, cause?: unknown) =>
    new ZosError('UPGRADE_INVALID', `${reason}: upgrade validation error`, { cause }),
  badRequest: (message: string, cause?: unknown) => new ZosError('BAD_REQUEST', message, { cause }),
  /** The deployment's contract is not on chain (never created, or cancelled: tfchain removes it). */
  contractNotFound: (id: number) => new ZosError('CONTRACT_NOT_FOUND', `failed to get deployment contract: contract ${id} not found`),
  invalidNodeAddress: () => new ZosError('INVALID_NODE_ADDRESS', 'invalid node address in contract'),
  hashMismatch: () => new ZosError('HASH_MISMATCH', 'contract hash does not match deployment hash'),
  insufficientMemory: (required: number, usable: number) =>
    new ZosError(
      'INSUFFICIENT_MEMORY',
      `cannot fulfil required memory size ${required} bytes out of usable ${usable} bytes`,
    ),
  insufficientDisk: (required: number, free: number) =>
    new ZosError('INSUFFICIENT_DISK', `cannot fulfil required storage size ${required} bytes out of free ${free} bytes`),
  workloadNotFound: (detail = 'workload does not exist') => new ZosError('WORKLOAD_NOT_FOUND', detail),
  store: (message: string, cause?: unknown) => new ZosError('STORE', message, { cause }),
  closed: (what: string) => new ZosError('CLOSED', `${what} is closed`),
} as const;
