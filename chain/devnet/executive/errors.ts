/**
 * Transaction-pool errors in the shape substrate's author RPC reports them:
 * `{code, message, data}` where data is the runtime's validity text.
 */

/** sp_runtime::transaction_validity::InvalidTransaction texts (Display impl). */
export const INVALID_TX = {
  Call: 'Transaction call is not expected',
  Payment: 'Inability to pay some fees (e.g. account balance too low)',
  Future: 'Transaction will be valid in the future',
  Stale: 'Transaction is outdated',
  BadProof: 'Transaction has a bad signature',
  AncientBirthBlock: 'Transaction has an ancient birth block',
  ExhaustsResources: 'Transaction would exhaust the block limits',
  BadMandatory: 'A call was labelled as mandatory, but resulted in an Error.',
  MandatoryValidation: 'Transaction dispatch is mandatory; transactions must not be validated.',
  BadSigner: 'Invalid signing address',
} as const;

/** sp_runtime::transaction_validity::UnknownTransaction texts. */
export const UNKNOWN_TX = {
  CannotLookup: 'Could not lookup information required to validate the transaction',
  NoUnsignedValidator: 'Could not find an unsigned validator for the unsigned transaction',
} as const;

/** JSON-RPC error codes of substrate's author API (sc_rpc_api::author::error). */
export const POOL_CODES = {
  BadFormat: 1001,
  InvalidTransaction: 1010,
  UnknownTransaction: 1011,
  AlreadyImported: 1013,
  TooLowPriority: 1014,
  ImmediatelyDropped: 1016,
} as const;

export type InvalidTxKind = keyof typeof INVALID_TX;

/** A transaction refused by the pool; `toRpc()` is the JSON-RPC error object. */
export class TxPoolError extends Error {
  constructor(
    readonly code: (typeof POOL_CODES)[keyof typeof POOL_CODES],
    readonly rpcMessage: string,
    readonly data?: string,
  ) {
    super(data ? `${rpcMessage}: ${data}` : rpcMessage);
    this.name = 'TxPoolError';
  }

  toRpc(): { code: number; message: string; data?: string } {
    return this.data === undefined ? { code: this.code, message: this.rpcMessage } : { code: this.code, message: this.rpcMessage, data: this.data };
  }
}

export const invalidTx = (kind: InvalidTxKind) => new TxPoolError(POOL_CODES.InvalidTransaction, 'Invalid Transaction', INVALID_TX[kind]);
export const unknownTx = (kind: keyof typeof UNKNOWN_TX) => new TxPoolError(POOL_CODES.UnknownTransaction, 'Unknown Transaction Validity', UNKNOWN_TX[kind]);
export const badFormat = (detail: string) => new TxPoolError(POOL_CODES.BadFormat, `Extrinsic has invalid format: ${detail}`);
export const alreadyImported = () => new TxPoolError(POOL_CODES.AlreadyImported, 'Transaction Already Imported');
export const tooLowPriority = (old: bigint, next: bigint) =>
  new TxPoolError(POOL_CODES.TooLowPriority, `Priority is too low: (${old} vs ${next})`, 'The transaction has too low priority to replace another transaction already in the pool.');
export const poolFull = () =>
  new TxPoolError(POOL_CODES.ImmediatelyDropped, 'Immediately Dropped', "The transaction couldn't enter the pool because of the limit");

/** Whether the error says the tx is invalid for good (as opposed to a pool condition). */
export const isInvalid = (err: unknown): err is TxPoolError => err instanceof TxPoolError && err.code === POOL_CODES.InvalidTransaction;
