import { open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { newHasher } from '../../image/hash.ts';
import { decodeManifest, type FileEntry } from '../../image/manifest.ts';
import { pullImage } from '../../image/pull.ts';
import { DirStore } from '../../image/store/dir-store.ts';
import { HttpStore } from '../../image/store/http-store.ts';
import { storeContent, writeInitramfs, type FileContent } from '../initramfs.ts';
import { INIT_PATH, KERNEL_PATH, OS_IMAGE_TAG, RELEASE_PATH } from '../layout.ts';
import type { ReleaseRef } from './release.ts';
import { targetSlot, type SlotName, type Slots } from './slots.ts';

/**
 * Stages a release named by the chain into a boot slot while the running release keeps serving:
 * the image is pulled by digest from the hub into the node's own chunk store (so the OS dedups
 * with workload images, and chunks a previous release brought are not fetched again), every chunk
 * checked against its id and the manifest against the digest the chain names; its release label
 * must be the one the chain names; its boot form (kernel, initramfs, manifest) is written to a
 * staging directory, every file checked against its fingerprint on the way, and only then
 * replaces the free slot.
 * Any failure throws and leaves the slots as they were.
 */
export interface StageOptions {
  ref: ReleaseRef;
  /** Image store URL the releases are pulled from (zos_hub). */
  hub: string;
  /** The node's image directory (store/ and cache/, shared with workloads). */
  imagesDir: string;
  slots: Slots;
  /** The slot the running release booted from (none: the boot medium). */
  running?: SlotName;
}

export async function stageRelease(o: StageOptions): Promise<SlotName> {
  const store = await DirStore.open(join(o.imagesDir, 'store'));
  const hub = new HttpStore(o.hub);
  let prepared: string | undefined;
  try {
    await pullImage(store, hub, { name: OS_IMAGE_TAG, digest: o.ref.digest });
    const bytes = await store.getManifest(o.ref.digest);
    const m = decodeManifest(bytes);
    for (const need of [KERNEL_PATH, INIT_PATH, RELEASE_PATH]) {
      if (m.entries.find((e) => e.path === need)?.type !== 'file') throw new Error(`blake3:${o.ref.digest} is not an OS release: it has no ${need}`);
    }
    // Straight from the chunk store, no tree on disk: every chunk is checked against its id and
    // every file against its fingerprint as it goes into the slot.
    const content = storeContent(store);
    const entry = (path: string) => m.entries.find((e): e is FileEntry => e.type === 'file' && e.path === path)!;
    const pieces: Uint8Array[] = [];
    for await (const piece of content(entry(RELEASE_PATH))) pieces.push(piece);
    const label = Buffer.concat(pieces).toString('utf8').trim();
    if (label !== o.ref.version) throw new Error(`the image is release "${label}", the chain names "${o.ref.version}"`);

    const slots = await o.slots.list();
    const name = targetSlot(slots, o.running);
    prepared = await o.slots.staging();
    await extract(content, entry(KERNEL_PATH), join(prepared, 'vmlinuz'));
    await writeInitramfs(content, m, bytes, join(prepared, 'initrd.img'));
    await writeFile(join(prepared, 'root.manifest'), bytes);
    const generation = Math.max(0, ...slots.map((s) => s.record.generation)) + 1;
    await o.slots.install(name, prepared, { digest: o.ref.digest, release: label, generation, attempts: 0, confirmed: false });
    prepared = undefined;
    return name;
  } finally {
    if (prepared) await rm(prepared, { recursive: true, force: true });
    await hub.close();
    await store.close();
  }
}

/** One file of the image written to `path`, checked against its fingerprint. */
async function extract(content: FileContent, e: FileEntry, path: string): Promise<void> {
  const h = newHasher();
  const fh = await open(path, 'w', 0o644);
  try {
    for await (const piece of content(e)) {
      h.update(piece);
      await fh.write(piece);
    }
  } finally {
    await fh.close();
  }
  if (h.digestHex() !== e.blake3) throw new Error(`"${e.path}" does not match its manifest fingerprint`);
}
