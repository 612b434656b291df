import { isChainError } from '../../chain/client/errors.ts';
import { RelayClientError, RmbError, TimeoutError } from '../../relay-client/errors.ts';

/**
 * Errors of the user-facing CLI (`zos up`, `zos deploy`, `zos deployments`): each carries what
 * went wrong, what to do next, and the process exit code. Usage errors (bad flags or a bad
 * deployment file) exit 2, everything else 1.
 */
export const CliErrorCode = {
  badInput: 'ERR_BAD_INPUT',
  badFile: 'ERR_BAD_FILE',
  hostMissing: 'ERR_HOST_MISSING',
  chainUnreachable: 'ERR_CHAIN_UNREACHABLE',
  relayUnreachable: 'ERR_RELAY_UNREACHABLE',
  relayTimeout: 'ERR_RELAY_TIMEOUT',
  insufficientBalance: 'ERR_INSUFFICIENT_BALANCE',
  termsNotAccepted: 'ERR_TERMS_NOT_ACCEPTED',
  nodeNotFound: 'ERR_NODE_NOT_FOUND',
  contractNotFound: 'ERR_CONTRACT_NOT_FOUND',
  contractNotUnique: 'ERR_CONTRACT_NOT_UNIQUE',
  rejected: 'ERR_REJECTED',
  workloadFailed: 'ERR_WORKLOAD_FAILED',
  timeout: 'ERR_TIMEOUT',
  portInUse: 'ERR_PORT_IN_USE',
  startFailed: 'ERR_START_FAILED',
  internal: 'ERR_INTERNAL',
} as const;
export type CliErrorCode = (typeof CliErrorCode)[keyof typeof CliErrorCode];

const USAGE: ReadonlySet<CliErrorCode> = new Set([CliErrorCode.badInput, CliErrorCode.badFile]);

export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly code: CliErrorCode,
    message: string,
    /** What the user should do next; printed under the message. */
    readonly hint?: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options);
    this.details = options?.details;
  }

  /** Facts for scripts (--json) and callers, e.g. the conflicting contractId. */
  readonly details: Record<string, unknown> | undefined;

  get exitCode(): number {
    return USAGE.has(this.code) ? 2 : 1;
  }
}

/** Where the user's chain and relay are, for hints. */
export interface ErrorContext {
  chainUrl?: string;
  relayUrl?: string;
  address?: string;
}

/** The devnet faucet next to a chain URL (`zos devnet` and `zos up` serve it). */
export function faucetUrl(chainUrl: string): string {
  return `${chainUrl.replace(/^ws/, 'http').replace(/\/+$/, '')}/activation/activate`;
}

/**
 * Turns whatever a chain, relay or node call threw into a CliError a person can act on.
 * Unknown errors keep their message, as ERR_INTERNAL.
 */
export function explain(err: unknown, ctx: ErrorContext = {}): CliError {
  if (err instanceof CliError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (isChainError(err)) {
    switch (err.code) {
      case 'InsufficientBalance':
      case 'BalanceTooLow':
        return insufficientBalance(ctx, message, err);
      case 'UserDidNotSignTermsAndConditions':
        return new CliError(CliErrorCode.termsNotAccepted, 'this account has not accepted the terms and conditions',
          'zos deploy accepts them for you; with another client call tfgridModule.userAcceptTc first', { cause: err });
      case 'NodeNotExists':
        return new CliError(CliErrorCode.nodeNotFound, message, 'check the node id (zos up prints them)', { cause: err });
      case 'ContractNotExists':
        return new CliError(CliErrorCode.contractNotFound, message, 'the contract is gone (canceled or never created): zos deployments list', { cause: err });
      case 'ERR_DISCONNECTED':
      case 'ERR_TIMEOUT':
        return chainUnreachable(ctx, message, err);
      default:
        return new CliError(CliErrorCode.internal, message, undefined, { cause: err });
    }
  }
  if (err instanceof TimeoutError) {
    return new CliError(CliErrorCode.relayTimeout, message,
      `the node did not answer through the relay${ctx.relayUrl ? ` ${ctx.relayUrl}` : ''}: is it running and connected to the same relay? retry, or check with \`zos node stats ID\``,
      { cause: err });
  }
  if (err instanceof RmbError) {
    return new CliError(CliErrorCode.rejected, `the node rejected the request: ${message}`, undefined, { cause: err });
  }
  if (err instanceof RelayClientError) {
    if (err.code === 'ERR_UNKNOWN_TWIN') return new CliError(CliErrorCode.nodeNotFound, message, 'the twin is not on this chain: check --chain and the node id', { cause: err });
    return relayUnreachable(ctx, message, err);
  }
  return new CliError(CliErrorCode.internal, message, undefined, { cause: err });
}

export function insufficientBalance(ctx: ErrorContext, detail: string, cause?: unknown): CliError {
  const faucet = ctx.chainUrl ? faucetUrl(ctx.chainUrl) : '<chain http url>/activation/activate';
  return new CliError(CliErrorCode.insufficientBalance, `account ${ctx.address ?? ''} cannot pay the transaction fees (${detail})`.replace('  ', ' '),
    `fund it first: curl -X POST ${faucet} -H 'content-type: application/json' -d '{"substrateAccountID":"${ctx.address ?? 'SS58'}"}'` +
      ' (on the dev grid: https://activation.dev.grid.tf/activation/activate), or pass --fund to do it for you',
    { cause });
}

export function chainUnreachable(ctx: ErrorContext, detail: string, cause?: unknown): CliError {
  return new CliError(CliErrorCode.chainUnreachable, `cannot reach the chain at ${ctx.chainUrl ?? '?'}: ${detail}`,
    'is `zos devnet` or `zos up` running? check --chain (zos up prints the URL)', { cause });
}

export function relayUnreachable(ctx: ErrorContext, detail: string, cause?: unknown): CliError {
  return new CliError(CliErrorCode.relayUnreachable, `cannot reach the relay at ${ctx.relayUrl ?? '?'}: ${detail}`,
    'is `zos relay` or `zos up` running? check --relay (zos up prints the URL)', { cause });
}

/** One line per error for stderr: `zos deploy: message` then `  -> hint`. */
export function formatError(prefix: string, err: CliError): string {
  return `${prefix}: ${err.message}\n${err.hint ? `  -> ${err.hint}\n` : ''}`;
}
