import type { Codec } from '@polkadot/types/types';
import type { FieldSpec, Param, Ty } from '../metadata/scale-info.ts';
import type { CallContext, HookContext } from './context.ts';

export type Hasher = 'Blake2_128' | 'Blake2_256' | 'Blake2_128Concat' | 'Twox128' | 'Twox256' | 'Twox64Concat' | 'Identity';

export interface StorageDecl {
  name: string;
  modifier: 'Optional' | 'Default';
  /** Plain value, or a map (one hasher per key part; a tuple key for double maps). */
  type: { plain: Ty } | { map: { hashers: Hasher[]; key: Ty; value: Ty } };
  /** Default value for Default items (encoded with the registry); the type's zero value otherwise. */
  default?: unknown;
  docs?: string[];
}

/** Decoded call arguments keyed by their metadata (snake_case) names. */
export type CallArgs = Record<string, Codec>;

export interface CallDecl {
  name: string;
  index: number;
  args: FieldSpec[];
  docs?: string[];
  /** Fee-free calls (Pays::No), like report_uptime_v2. */
  paysFee?: boolean;
  /** Root-only calls: rejected with BadOrigin for signed origins. */
  root?: boolean;
  run?: (ctx: CallContext, args: CallArgs) => void;
}

export interface ConstantDecl {
  name: string;
  type: Ty;
  value: unknown;
  docs?: string[];
}

/**
 * One pallet's declaration: everything the metadata says about it, plus the
 * handlers that give it behaviour. Calls without `run` are declared (so indices
 * and types match tfchain) but answer "not implemented" when dispatched.
 */
export interface PalletDecl {
  name: string;
  index: number;
  /** Rust crate path prefix for Call/Event/Error, e.g. `pallet_tfgrid::pallet`. */
  typePath: string;
  /** Generic params of Call/Event/Error, e.g. phantom('T') or phantom('T', 'I'). */
  typeParams: Param[];
  /** Event params when they differ from typeParams (pallet_utility::Event has none). */
  eventTypeParams?: Param[];
  storagePrefix?: string;
  storage?: StorageDecl[];
  calls?: CallDecl[];
  events?: Array<[name: string, fields: FieldSpec[], index?: number]>;
  eventDocs?: Record<string, string[]>;
  /** Error names in index order. */
  errors?: string[];
  constants?: ConstantDecl[];
  /** Writes genesis state. */
  genesis?: (ctx: HookContext) => void;
  /** Runs at the start of each block, before extrinsics. */
  onInitialize?: (ctx: HookContext) => void;
  /** Runs at the end of each block, after extrinsics. */
  onFinalize?: (ctx: HookContext) => void;
}
