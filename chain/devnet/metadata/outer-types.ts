/**
 * The runtime-wide enums. RuntimeCall is referenced by pallets (utility.batch takes
 * Vec<RuntimeCall>) before the set of pallets is known, so it starts empty and the
 * metadata builder fills its variants from the pallet list.
 */
import { bytes, compact, phantom, seq, struct, tuple, u128, u32, type Ty } from './scale-info.ts';
import { AccountId32, Era, H256, MultiAddress, MultiSignature, Phase } from './common-types.ts';

export const RuntimeCall: Ty = { path: ['tfchain_runtime', 'RuntimeCall'], params: [], def: { variant: [] } };
export const RuntimeEvent: Ty = { path: ['tfchain_runtime', 'RuntimeEvent'], params: [], def: { variant: [] } };
export const Runtime: Ty = struct('tfchain_runtime::Runtime', []);

export const EventRecord = struct(
  'frame_system::EventRecord',
  [
    ['phase', Phase, 'Phase'],
    ['event', RuntimeEvent, 'E'],
    ['topics', seq(H256), 'Vec<T>'],
  ],
  [{ name: 'E', type: RuntimeEvent }, { name: 'T', type: H256 }],
);

const ext = (path: string, inner?: [Ty, string]): Ty =>
  struct(path, inner ? [[null, inner[0], inner[1]]] : [], phantom('T'));

/** Signed extensions in spec 152 order, with their additional-signed types. */
export const signedExtensions: Array<{ identifier: string; type: Ty; additionalSigned: Ty }> = [
  { identifier: 'CheckNonZeroSender', type: ext('frame_system::extensions::check_non_zero_sender::CheckNonZeroSender'), additionalSigned: tuple() },
  { identifier: 'CheckSpecVersion', type: ext('frame_system::extensions::check_spec_version::CheckSpecVersion'), additionalSigned: u32 },
  { identifier: 'CheckTxVersion', type: ext('frame_system::extensions::check_tx_version::CheckTxVersion'), additionalSigned: u32 },
  { identifier: 'CheckGenesis', type: ext('frame_system::extensions::check_genesis::CheckGenesis'), additionalSigned: H256 },
  { identifier: 'CheckMortality', type: ext('frame_system::extensions::check_mortality::CheckMortality', [Era, 'Era']), additionalSigned: H256 },
  { identifier: 'CheckNonce', type: ext('frame_system::extensions::check_nonce::CheckNonce', [compact(u32), 'T::Nonce']), additionalSigned: tuple() },
  { identifier: 'CheckWeight', type: ext('frame_system::extensions::check_weight::CheckWeight'), additionalSigned: tuple() },
  { identifier: 'ChargeTransactionPayment', type: ext('pallet_transaction_payment::ChargeTransactionPayment', [compact(u128), 'BalanceOf<T>']), additionalSigned: tuple() },
  { identifier: 'ContractIdProvides', type: struct('pallet_smart_contract::types::ContractIdProvides', [], [{ name: 'T', type: Runtime }]), additionalSigned: tuple() },
];

export const UncheckedExtrinsic = struct(
  'sp_runtime::generic::unchecked_extrinsic::UncheckedExtrinsic',
  [[null, bytes, null]],
  [
    { name: 'Address', type: MultiAddress },
    { name: 'Call', type: RuntimeCall },
    { name: 'Signature', type: MultiSignature },
    { name: 'Extra', type: tuple(...signedExtensions.map((e) => e.type)) },
  ],
);

export { AccountId32 };
