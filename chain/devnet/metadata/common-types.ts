/** Substrate/FRAME types shared by every pallet, with the paths spec 152 uses. */
import {
  array, boundedVec, compact, enumType, option, param, phantom, seq, simpleEnum, struct, tuple, u128, u32, u64, u8,
  type Ty,
} from './scale-info.ts';

export const bytes32 = array(32, u8);
export const AccountId32 = struct('sp_core::crypto::AccountId32', [[null, bytes32, '[u8; 32]']]);
export const H256 = struct('primitive_types::H256', [[null, bytes32, '[u8; 32]']]);
export const Weight = struct('sp_weights::weight_v2::Weight', [
  ['ref_time', compact(u64), 'u64'],
  ['proof_size', compact(u64), 'u64'],
]);
export const DispatchClass = simpleEnum('frame_support::dispatch::DispatchClass', ['Normal', 'Operational', 'Mandatory']);
export const Pays = simpleEnum('frame_support::dispatch::Pays', ['Yes', 'No']);
export const DispatchInfo = struct('frame_support::dispatch::DispatchInfo', [
  ['weight', Weight, 'Weight'],
  ['class', DispatchClass, 'DispatchClass'],
  ['pays_fee', Pays, 'Pays'],
]);
export const ModuleError = struct('sp_runtime::ModuleError', [
  ['index', u8, 'u8'],
  ['error', array(4, u8), '[u8; MAX_MODULE_ERROR_ENCODED_SIZE]'],
]);
export const TokenError = simpleEnum('sp_runtime::TokenError', [
  'FundsUnavailable', 'OnlyProvider', 'BelowMinimum', 'CannotCreate', 'UnknownAsset', 'Frozen', 'Unsupported',
  'CannotCreateHold', 'NotExpendable', 'Blocked',
]);
export const ArithmeticError = simpleEnum('sp_arithmetic::ArithmeticError', ['Underflow', 'Overflow', 'DivisionByZero']);
export const TransactionalError = simpleEnum('sp_runtime::TransactionalError', ['LimitReached', 'NoLayer']);
export const DispatchError = enumType('sp_runtime::DispatchError', [
  ['Other'],
  ['CannotLookup'],
  ['BadOrigin'],
  ['Module', [[null, ModuleError, 'ModuleError']]],
  ['ConsumerRemaining'],
  ['NoProviders'],
  ['TooManyConsumers'],
  ['Token', [[null, TokenError, 'TokenError']]],
  ['Arithmetic', [[null, ArithmeticError, 'ArithmeticError']]],
  ['Transactional', [[null, TransactionalError, 'TransactionalError']]],
  ['Exhausted'],
  ['Corruption'],
  ['Unavailable'],
  ['RootNotAllowed'],
]);
export const Phase = enumType('frame_system::Phase', [['ApplyExtrinsic', [[null, u32, 'u32']]], ['Finalization'], ['Initialization']]);

export const MultiAddress = enumType(
  'sp_runtime::multiaddress::MultiAddress',
  [
    ['Id', [[null, AccountId32, 'AccountId']]],
    ['Index', [[null, compact(tuple()), 'AccountIndex']]],
    ['Raw', [[null, seq(u8), 'Vec<u8>']]],
    ['Address32', [[null, bytes32, '[u8; 32]']]],
    ['Address20', [[null, array(20, u8), '[u8; 20]']]],
  ],
  [param('AccountId', AccountId32), param('AccountIndex', tuple())],
);

const sig64 = array(64, u8);
export const MultiSignature = enumType('sp_runtime::MultiSignature', [
  ['Ed25519', [[null, struct('sp_core::ed25519::Signature', [[null, sig64, '[u8; 64]']]), 'ed25519::Signature']]],
  ['Sr25519', [[null, struct('sp_core::sr25519::Signature', [[null, sig64, '[u8; 64]']]), 'sr25519::Signature']]],
  ['Ecdsa', [[null, struct('sp_core::ecdsa::Signature', [[null, array(65, u8), '[u8; 65]']]), 'ecdsa::Signature']]],
]);

/** Era: Immortal plus the 255 two-byte Mortal variants, exactly as sp_runtime declares it. */
export const Era: Ty = enumType(
  'sp_runtime::generic::era::Era',
  [['Immortal'] as [string], ...Array.from({ length: 255 }, (_, i) => [`Mortal${i + 1}`, [[null, u8, null]]] as [string, [null, Ty, null][]])],
);

export const AccountData = struct(
  'pallet_balances::types::AccountData',
  [
    ['free', u128, 'Balance'],
    ['reserved', u128, 'Balance'],
    ['frozen', u128, 'Balance'],
    ['flags', struct('pallet_balances::types::ExtraFlags', [[null, u128, 'u128']]), 'ExtraFlags'],
  ],
  [param('Balance', u128)],
);
export const AccountInfo = struct(
  'frame_system::AccountInfo',
  [
    ['nonce', u32, 'Nonce'],
    ['consumers', u32, 'RefCount'],
    ['providers', u32, 'RefCount'],
    ['sufficients', u32, 'RefCount'],
    ['data', AccountData, 'AccountData'],
  ],
  [param('Nonce', u32), param('AccountData', AccountData)],
);

export { boundedVec, option, phantom };
