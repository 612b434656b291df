import { AccountId32, AccountInfo, DispatchError, DispatchInfo, H256 } from '../metadata/common-types.ts';
import { EventRecord } from '../metadata/outer-types.ts';
import { bytes, phantom, seq, tuple, u16, u32, u64, type FieldSpec } from '../metadata/scale-info.ts';
import type { PalletDecl } from '../runtime/pallet.ts';
import { blake2AsHex } from '@polkadot/util-crypto';

const account: FieldSpec = ['account', AccountId32, 'T::AccountId'];

/** frame_system: accounts, block number and hashes, the event list. */
export function systemPallet(): PalletDecl {
  return {
    name: 'System',
    index: 0,
    typePath: 'frame_system::pallet',
    typeParams: phantom('T'),
    storage: [
      { name: 'Account', modifier: 'Default', type: { map: { hashers: ['Blake2_128Concat'], key: AccountId32, value: AccountInfo } }, default: { data: { flags: 1n << 127n } } },
      { name: 'ExtrinsicCount', modifier: 'Optional', type: { plain: u32 } },
      { name: 'AllExtrinsicsLen', modifier: 'Optional', type: { plain: u32 } },
      { name: 'BlockHash', modifier: 'Default', type: { map: { hashers: ['Twox64Concat'], key: u32, value: H256 } } },
      { name: 'ExtrinsicData', modifier: 'Default', type: { map: { hashers: ['Twox64Concat'], key: u32, value: bytes } } },
      { name: 'Number', modifier: 'Default', type: { plain: u32 } },
      { name: 'ParentHash', modifier: 'Default', type: { plain: H256 } },
      { name: 'Events', modifier: 'Default', type: { plain: seq(EventRecord) } },
      { name: 'EventCount', modifier: 'Default', type: { plain: u32 } },
    ],
    calls: [
      { name: 'remark', index: 0, args: [['remark', bytes, 'Vec<u8>']], run: (ctx) => void ctx.signer() },
      { name: 'set_heap_pages', index: 1, args: [['pages', u64, 'u64']], root: true },
      { name: 'set_code', index: 2, args: [['code', bytes, 'Vec<u8>']], root: true },
      { name: 'set_code_without_checks', index: 3, args: [['code', bytes, 'Vec<u8>']], root: true },
      { name: 'set_storage', index: 4, args: [['items', seq(tuple(bytes, bytes)), 'Vec<KeyValue>']], root: true },
      { name: 'kill_storage', index: 5, args: [['keys', seq(bytes), 'Vec<Key>']], root: true },
      { name: 'kill_prefix', index: 6, args: [['prefix', bytes, 'Key'], ['subkeys', u32, 'u32']], root: true },
      {
        name: 'remark_with_event', index: 7, args: [['remark', bytes, 'Vec<u8>']],
        run: (ctx, a) => ctx.deposit('System', 'Remarked', { sender: ctx.signer(), hash: blake2AsHex(a.remark!.toU8a(true)) }),
      },
    ],
    events: [
      ['ExtrinsicSuccess', [['dispatch_info', DispatchInfo, 'DispatchInfo']]],
      ['ExtrinsicFailed', [['dispatch_error', DispatchError, 'DispatchError'], ['dispatch_info', DispatchInfo, 'DispatchInfo']]],
      ['CodeUpdated', []],
      ['NewAccount', [account]],
      ['KilledAccount', [account]],
      ['Remarked', [['sender', AccountId32, 'T::AccountId'], ['hash', H256, 'T::Hash']]],
    ],
    eventDocs: { ExtrinsicSuccess: ['An extrinsic completed successfully.'], ExtrinsicFailed: ['An extrinsic failed.'] },
    errors: ['InvalidSpecName', 'SpecVersionNeedsToIncrease', 'FailedToExtractRuntimeVersion', 'NonDefaultComposite', 'NonZeroRefCount', 'CallFiltered'],
    constants: [
      { name: 'BlockHashCount', type: u32, value: 2400 },
      { name: 'SS58Prefix', type: u16, value: 42 },
    ],
  };
}
