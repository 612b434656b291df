import type { Runtime } from './runtime.ts';

/**
 * Local error codes of the chain client. A failed extrinsic with a module error uses the
 * on-chain error name instead (e.g. `ContractIsNotUnique`), so callers can match exact
 * tfchain names; `InsufficientBalance` mirrors the official client's InsufficientBalanceError.
 */
export const ChainErrorCode = {
  disconnected: 'ERR_DISCONNECTED',
  closed: 'ERR_CLOSED',
  notStarted: 'ERR_NOT_STARTED',
  timeout: 'ERR_TIMEOUT',
  insufficientBalance: 'InsufficientBalance',
  invalidTransaction: 'ERR_INVALID_TX',
  txDropped: 'ERR_TX_DROPPED',
  dispatch: 'ERR_DISPATCH',
  decode: 'ERR_DECODE',
  badInput: 'ERR_BAD_INPUT',
  notFound: 'ERR_NOT_FOUND',
  /** The block's state is gone (pruned, or a restored devnet): asking again will not help. */
  stateGone: 'ERR_STATE_GONE',
  rpc: 'ERR_RPC',
} as const;
export type ChainErrorCode = (typeof ChainErrorCode)[keyof typeof ChainErrorCode];

/** Codes whose failure says nothing about the call itself: trying again later can succeed. */
const RETRIABLE: ReadonlySet<string> = new Set([ChainErrorCode.disconnected, ChainErrorCode.timeout, ChainErrorCode.txDropped]);

export interface ChainErrorOptions {
  cause?: unknown;
  /** Pallet section of a module error, camelCase as in polkadot-js (`smartContractModule`). */
  section?: string;
  /** The call that failed, `section.method`. */
  call?: string;
  retriable?: boolean;
}

export class ChainError extends Error {
  /** A ChainErrorCode, or the on-chain module error name. */
  readonly code: ChainErrorCode | (string & {});
  readonly section: string | undefined;
  readonly call: string | undefined;
  /** True when the same call may succeed if retried (connection lost, tx dropped, timeout). */
  readonly retriable: boolean;

  constructor(code: ChainErrorCode | (string & {}), message: string, opts: ChainErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.section = opts.section;
    this.call = opts.call;
    this.retriable = opts.retriable ?? RETRIABLE.has(code);
    // Module errors and InsufficientBalance carry the on-chain / official-client name.
    this.name = opts.section !== undefined || code === ChainErrorCode.insufficientBalance ? code : 'ChainError';
  }
}

export function isChainError(err: unknown, code?: string): err is ChainError {
  return err instanceof ChainError && (code === undefined || err.code === code);
}

/** What to do about the errors callers of this client actually hit. */
const HINTS: Readonly<Record<string, string>> = {
  UserDidNotSignTermsAndConditions: 'accept the terms and conditions first (ensureTermsAccepted)',
  TwinWithPubkeyExists: 'this account already has a twin: update it instead (ensureTwin)',
  TwinNotExists: 'create a twin for this account first (ensureTwin)',
  ContractIsNotUnique: 'a contract for this node and deployment hash exists: update or cancel it, or change the deployment',
  NodeNotAvailableToDeploy: 'the node is powered down or dedicated to another twin: pick another node',
  NodeHasActiveContracts: 'cancel the node contracts first',
  FarmExists: 'choose another farm name, or reuse the existing farm (ensureFarm)',
  NodeWithTwinIdExists: 'this twin already has a node: update it instead (ensureNode)',
  InvalidTimestampHint: 'the local clock is off by more than 60 s from the chain: fix NTP',
  InvalidRelayAddress: 'the relay must be host names joined by "_" (relayHostList)',
  ContractNotExists: 'the contract is gone (canceled or never created)',
  [ChainErrorCode.insufficientBalance]: 'fund the account (faucet / activation service) and retry',
};

export function hintFor(code: string): string | undefined {
  return HINTS[code];
}

/**
 * Maps the DispatchError of a failed extrinsic (its JSON in ExtrinsicFailed: `{module: {index,
 * error}}`, `{token: 'FundsUnavailable'}`, `{badOrigin: null}`...). A module error is resolved
 * by index through the runtime metadata, which yields the tfchain error name and section.
 */
export function mapDispatchError(runtime: Pick<Runtime, 'moduleError'>, error: unknown, call: string): ChainError {
  const [key, inner] = error && typeof error === 'object' ? (Object.entries(error)[0] ?? ['', null]) : [String(error), null];
  if (key === 'module' && inner && typeof inner === 'object') {
    const { index, error: code } = inner as { index: number; error: string };
    const bytes = typeof code === 'string' ? Buffer.from(code.slice(2), 'hex') : Uint8Array.of(Number(code));
    const meta = runtime.moduleError(index, bytes);
    const hint = hintFor(meta.name) ?? meta.docs.join(' ').trim();
    return new ChainError(meta.name, `${call} failed: ${meta.section}.${meta.name}${hint ? `: ${hint}` : ''}`, {
      section: meta.section,
      call,
    });
  }
  const kind = key.charAt(0).toUpperCase() + key.slice(1);
  const detail = typeof inner === 'string' ? `.${inner}` : '';
  return new ChainError(ChainErrorCode.dispatch, `${call} failed: ${kind}${detail}`, { call });
}

/**
 * Maps an error thrown by the RPC layer while submitting or querying. The node answers
 * 1010 "Invalid Transaction" with data "Inability to pay some fees ..." for unfunded
 * accounts; polkadot-js turns that into "1010: Invalid Transaction: Inability to pay some fees , e.g. ...".
 */
export function mapRpcError(err: unknown, call: string): ChainError {
  if (err instanceof ChainError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (message.includes('Inability to pay some fees')) {
    return new ChainError(ChainErrorCode.insufficientBalance, `${call}: insufficient balance to pay the fees: ${hintFor(ChainErrorCode.insufficientBalance)}`, {
      call,
      cause: err,
    });
  }
  if (/^1010\b/.test(message) || message.includes('Invalid Transaction')) {
    // Stale/future nonces come from another process using the same account: a retry fetches a fresh nonce.
    const retriable = /outdated|stale|future|Priority is too low/i.test(message);
    return new ChainError(ChainErrorCode.invalidTransaction, `${call}: ${message}`, { call, cause: err, retriable });
  }
  if (/State already discarded|UnknownBlock|Unknown block/i.test(message)) {
    return new ChainError(ChainErrorCode.stateGone, `${call}: ${message}`, { call, cause: err });
  }
  if (/disconnected from|WebSocket is not connected|No response received from RPC endpoint|Abnormal Closure/i.test(message)) {
    return new ChainError(ChainErrorCode.disconnected, `${call}: connection lost: ${message}`, { call, cause: err });
  }
  return new ChainError(ChainErrorCode.rpc, `${call}: ${message}`, { call, cause: err });
}
