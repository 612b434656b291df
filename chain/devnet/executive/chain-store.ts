import type { TypeRegistry } from '@polkadot/types';
import { blake2AsHex } from '@polkadot/util-crypto';
import { u8aConcat, hexToU8a, compactToU8a } from '@polkadot/util';

/** Header as substrate's RPC prints it (number as 0x-hex). */
export interface HeaderJson {
  parentHash: string;
  number: string;
  stateRoot: string;
  extrinsicsRoot: string;
  digest: { logs: string[] };
}

export interface BlockRecord {
  number: number;
  hash: string;
  header: HeaderJson;
  /** Extrinsics as 0x-hex of their full encoding (with length prefix). */
  extrinsics: string[];
}

export const ZERO_HASH = `0x${'00'.repeat(32)}`;

/** Hashes a header the way substrate does: blake2_256 of its SCALE encoding. */
export function sealHeader(
  registry: TypeRegistry,
  fields: { parentHash: string; number: number; stateRoot: string; extrinsicsRoot: string },
): { hash: string; header: HeaderJson } {
  const codec = registry.createType('Header', { ...fields, digest: { logs: [] } });
  return {
    hash: codec.hash.toHex(),
    header: {
      parentHash: fields.parentHash,
      number: `0x${fields.number.toString(16)}`,
      stateRoot: fields.stateRoot,
      extrinsicsRoot: fields.extrinsicsRoot,
      digest: { logs: [] },
    },
  };
}

/** Deterministic stand-in for the trie root: parent root chained with the sorted state diff. */
export function stateRootOf(parentRoot: string, changes: ReadonlyArray<[string, Uint8Array | null]>): string {
  const parts: Uint8Array[] = [hexToU8a(parentRoot)];
  for (const [k, v] of [...changes].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    parts.push(hexToU8a(k), v ? u8aConcat(compactToU8a(v.length), v) : new Uint8Array([0xff]));
  }
  return blake2AsHex(u8aConcat(...parts), 256);
}

/** Stand-in for the extrinsics trie root: blake2 of the concatenated extrinsic hashes. */
export function extrinsicsRootOf(extrinsics: readonly string[]): string {
  return blake2AsHex(u8aConcat(...extrinsics.map((x) => hexToU8a(blake2AsHex(x, 256)))), 256);
}

/**
 * The canonical chain (one fork, instantly final) plus state snapshots of the
 * most recent blocks, for the `*At` RPCs.
 */
export class ChainStore {
  private readonly blocks: BlockRecord[] = [];
  private readonly byHash = new Map<string, BlockRecord>();
  private readonly snapshots = new Map<string, ReadonlyMap<string, Uint8Array>>();

  constructor(private readonly keepSnapshots = 256) {}

  add(block: BlockRecord, snapshot?: ReadonlyMap<string, Uint8Array>): void {
    if (block.number !== this.blocks.length) throw new Error(`block ${block.number} does not extend the chain at ${this.blocks.length - 1}`);
    this.blocks.push(block);
    this.byHash.set(block.hash, block);
    if (snapshot) this.setSnapshot(block.hash, snapshot);
  }

  setSnapshot(hash: string, snapshot: ReadonlyMap<string, Uint8Array>): void {
    this.snapshots.set(hash, snapshot);
    while (this.snapshots.size > this.keepSnapshots) this.snapshots.delete(this.snapshots.keys().next().value!);
  }

  get isEmpty(): boolean {
    return this.blocks.length === 0;
  }

  get best(): BlockRecord {
    const b = this.blocks[this.blocks.length - 1];
    if (!b) throw new Error('chain has no genesis block');
    return b;
  }

  get genesis(): BlockRecord {
    return this.blocks[0]!;
  }

  byNumber(n: number): BlockRecord | undefined {
    return Number.isInteger(n) && n >= 0 ? this.blocks[n] : undefined;
  }

  get(hash: string): BlockRecord | undefined {
    return this.byHash.get(hash.toLowerCase());
  }

  hashOf(n: number): string | undefined {
    return this.byNumber(n)?.hash;
  }

  /** State after the given block, while its snapshot is kept. */
  stateAt(hash: string): ReadonlyMap<string, Uint8Array> | undefined {
    return this.snapshots.get(hash.toLowerCase());
  }
}
