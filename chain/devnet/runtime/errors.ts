/** Why a dispatch failed, in the shape of sp_runtime::DispatchError. */
export class DispatchFailure extends Error {
  constructor(
    readonly kind: 'Module' | 'BadOrigin' | 'Other' | 'CannotLookup' | 'Token' | 'Arithmetic',
    readonly pallet?: string,
    readonly errorName?: string,
    readonly detail?: string,
  ) {
    super(pallet ? `${pallet}.${errorName}` : detail ? `${kind}: ${detail}` : kind);
    this.name = 'DispatchFailure';
  }
}

/** A pallet error by its on-chain name; the runtime resolves its index. */
export const moduleError = (pallet: string, name: string) => new DispatchFailure('Module', pallet, name);
export const badOrigin = () => new DispatchFailure('BadOrigin');
export const tokenError = (name: 'FundsUnavailable' | 'BelowMinimum' | 'CannotCreate') => new DispatchFailure('Token', undefined, name);
export const arithmeticError = (name: 'Underflow' | 'Overflow') => new DispatchFailure('Arithmetic', undefined, name);
