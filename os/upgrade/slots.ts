import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurably } from '../../lib/durable.ts';
import { initHash, newHasher } from '../../image/hash.ts';
import { decodeManifest, manifestDigest } from '../../image/manifest.ts';
import { KERNEL_PATH, SLOT_NAMES, type SlotName } from '../layout.ts';

export type { SlotName };

/**
 * A/B release slots on the cache disk (CACHE/os/a, CACHE/os/b). A slot holds one verified
 * release in bootable form: its kernel (vmlinuz), its initramfs (initrd.img, the release's root
 * image as the build writes it), its root manifest and a record (slot.json). A new release is
 * always written to the slot the running release is not in, so a bad download or a power cut
 * mid-write never touches what runs now, and the previous release stays as the fallback.
 *
 * Each boot from a slot counts an attempt before it starts; a release whose node came up
 * (registered, serving) resets the count and is confirmed. A slot that failed MAX_ATTEMPTS boots
 * in a row is passed over: the boot medium's init then picks the next slot, or runs its own release.
 */
export const MAX_ATTEMPTS = 2;

export interface SlotRecord {
  digest: string;
  release: string;
  /** Larger = staged later: the newest usable slot boots. */
  generation: number;
  /** Boots started from this slot since its node last came up. */
  attempts: number;
  /** Its node came up at least once. */
  confirmed: boolean;
}

export interface Slot {
  name: SlotName;
  record: SlotRecord;
}

/** Usable slots, newest first (pure). */
export function bootOrder(slots: readonly Slot[]): Slot[] {
  return slots.filter((s) => s.record.attempts < MAX_ATTEMPTS).sort((x, y) => y.record.generation - x.record.generation);
}

/** Where the next release goes (pure): never the running slot; else an empty slot, else the older one. */
export function targetSlot(slots: readonly Slot[], running: SlotName | undefined): SlotName {
  const free = SLOT_NAMES.filter((n) => n !== running);
  const empty = free.find((n) => !slots.some((s) => s.name === n));
  if (empty) return empty;
  return free.map((n) => slots.find((s) => s.name === n)!).sort((x, y) => x.record.generation - y.record.generation)[0]!.name;
}

export class SlotRefused extends Error {
  override readonly name = 'SlotRefused';
}

export class Slots {
  constructor(readonly dir: string) {}

  path(name: SlotName, file: 'vmlinuz' | 'initrd.img' | 'root.manifest' | 'slot.json'): string {
    return join(this.dir, name, file);
  }

  /** Slots with a readable record; a half-written or foreign slot counts as empty. */
  async list(): Promise<Slot[]> {
    const out: Slot[] = [];
    for (const name of SLOT_NAMES) {
      const text = await readFile(this.path(name, 'slot.json'), 'utf8').catch(() => undefined);
      try {
        const r = text === undefined ? undefined : (JSON.parse(text) as SlotRecord);
        if (r && /^[0-9a-f]{64}$/.test(r.digest) && Number.isSafeInteger(r.generation) && Number.isSafeInteger(r.attempts)) out.push({ name, record: r });
      } catch {
        // unreadable record: empty slot
      }
    }
    return out;
  }

  async update(name: SlotName, change: (r: SlotRecord) => SlotRecord): Promise<SlotRecord> {
    const r = change(JSON.parse(await readFile(this.path(name, 'slot.json'), 'utf8')) as SlotRecord);
    await writeFileDurably(this.path(name, 'slot.json'), `${JSON.stringify(r)}\n`);
    return r;
  }

  /**
   * Before a slot's kernel runs: its manifest must have the recorded digest and its kernel the
   * manifest's fingerprint. The initramfs is not read here: the release's own init verifies every
   * file of it against the digest this init puts on the kernel command line.
   */
  async check(slot: Slot): Promise<void> {
    const bytes = await readFile(this.path(slot.name, 'root.manifest')).catch((err: Error) => {
      throw new SlotRefused(`no root manifest: ${err.message}`);
    });
    if (manifestDigest(bytes) !== slot.record.digest) throw new SlotRefused(`its root manifest is not blake3:${slot.record.digest}`);
    const kernel = decodeManifest(bytes).entries.find((e) => e.path === KERNEL_PATH);
    if (!kernel || kernel.type !== 'file') throw new SlotRefused(`the release has no ${KERNEL_PATH}`);
    const got = await blake3File(this.path(slot.name, 'vmlinuz')).catch((err: Error) => `unreadable (${err.message})`);
    if (got !== kernel.blake3) throw new SlotRefused(`its kernel does not match the release's ${KERNEL_PATH} fingerprint`);
  }

  /**
   * Replaces slot `name` with a prepared directory (same file system): the record goes in last,
   * every file is synced first, so a power cut leaves the old slot, an empty one, or the new one.
   */
  async install(name: SlotName, prepared: string, record: SlotRecord): Promise<void> {
    await writeFileDurably(join(prepared, 'slot.json'), `${JSON.stringify(record)}\n`);
    for (const f of ['vmlinuz', 'initrd.img', 'root.manifest']) await syncPath(join(prepared, f));
    await rm(join(this.dir, name), { recursive: true, force: true });
    await rename(prepared, join(this.dir, name));
    await syncPath(this.dir);
  }

  /** A fresh directory next to the slots for preparing one. */
  async staging(): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    const dir = join(this.dir, `.staging-${process.pid}-${Date.now()}`);
    await mkdir(dir);
    return dir;
  }
}

async function blake3File(path: string): Promise<string> {
  await initHash();
  const h = newHasher();
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digestHex();
}

async function syncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
