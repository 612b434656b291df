/**
 * Which chunks a build need not write, shared by its worker threads (a SharedArrayBuffer): those
 * its store's packs held when it started, and those a worker has taken to write. Without it two
 * workers that meet the same chunk (the same file in two places) would both append it to their
 * packs, where before the second found the first's chunk file. An open-addressed table of full ids:
 * [0, 4C) one Int32 state per slot (0 empty, 1 being filled, 2 filled), then C ids of 32 bytes.
 * A full table takes no more ids: a chunk it cannot record is written, a duplicate at worst.
 */
const EMPTY = 0;
const FILLING = 1;
const FILLED = 2;

/** A table for about `expected` ids beside `known`, which it holds from the start (filled on this thread, before any worker sees it). */
export function newClaims(expected: number, known: Iterable<string>): SharedArrayBuffer {
  const ids = [...known];
  let capacity = 1024;
  while (capacity < 2 * (expected + ids.length)) capacity *= 2;
  const table = new SharedArrayBuffer(capacity * 36);
  for (const id of ids) claim(table, id);
  return table;
}

/**
 * Records `id`; true when it was not there (the caller writes the chunk), false when the store's
 * packs hold it or another worker took it. Lock-free: a slot is taken by compare-and-swap, and a
 * reader that meets a slot being filled waits the microsecond its 32 bytes take.
 */
export function claim(table: SharedArrayBuffer, id: string): boolean {
  const capacity = table.byteLength / 36;
  const states = new Int32Array(table, 0, capacity);
  const keys = new Uint8Array(table, capacity * 4);
  const key = Buffer.from(id, 'hex');
  let slot = key.readUInt32LE(0) & (capacity - 1); // ids are BLAKE3 digests: their bytes are uniform
  for (let probes = 0; probes < capacity; ) {
    const state = Atomics.load(states, slot);
    if (state === EMPTY) {
      if (Atomics.compareExchange(states, slot, EMPTY, FILLING) !== EMPTY) continue; // another worker took it: look again
      keys.set(key, slot * 32);
      Atomics.store(states, slot, FILLED);
      Atomics.notify(states, slot);
      return true;
    }
    if (state === FILLING) {
      Atomics.wait(states, slot, FILLING, 100);
      continue;
    }
    if (key.equals(keys.subarray(slot * 32, slot * 32 + 32))) return false;
    slot = (slot + 1) & (capacity - 1);
    probes++;
  }
  return true;
}
