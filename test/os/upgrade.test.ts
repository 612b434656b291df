import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeManifest } from '../../image/manifest.ts';
import { serveStore, type ImageServer } from '../../image/serve.ts';
import { DirStore } from '../../image/store/dir-store.ts';
import { RELEASE_PATH } from '../../os/layout.ts';
import { slotCommandLine } from '../../os/init/slot-boot.ts';
import { formatReleaseRef, parseReleaseRef } from '../../os/upgrade/release.ts';
import { bootOrder, MAX_ATTEMPTS, Slots, targetSlot, type Slot } from '../../os/upgrade/slots.ts';
import { stageRelease } from '../../os/upgrade/stage.ts';
import { requireHost } from '../helpers/host.ts';
import { osHostReason, osImage } from './fixtures.ts';

/** Upgrades without booting: the release reference, slot choice, and staging a served release into a slot on the host. */
let skip: string | null = null;
let image: Awaited<ReturnType<typeof osImage>>;
let hub: ImageServer;
let work = '';

before(async () => {
  skip = await osHostReason();
  if (skip) return;
  image = await osImage();
  hub = await serveStore(join(image.dir, 'store'));
  work = await mkdtemp(join(tmpdir(), 'zos-os-upgrade-'));
});
after(async () => {
  await hub?.close();
  if (work) await rm(work, { recursive: true, force: true });
  if (image && !process.env.ZOS_OS_IMAGE) await rm(image.dir, { recursive: true, force: true });
});

const D1 = 'a'.repeat(64);
const slot = (name: 'a' | 'b', generation: number, attempts = 0): Slot => ({ name, record: { digest: D1, release: String(generation), generation, attempts, confirmed: false } });

test('os upgrade codecs: release reference, boot order, target slot, slot command line', () => {
  const ref = { version: '2.0.1', digest: D1 };
  assert.deepEqual(parseReleaseRef(formatReleaseRef(ref)), ref);
  assert.equal(formatReleaseRef(ref), `{"version":"2.0.1","digest":"blake3:${D1}"}`);
  assert.throws(() => parseReleaseRef('v3.10.0'), /is not a release reference of this OS/);
  assert.throws(() => parseReleaseRef('{"version":"x y","digest":"blake3:00"}'), /"version" must be a label/);
  assert.throws(() => parseReleaseRef(`{"version":"2","digest":"sha256:${D1}"}`), /"digest" must be blake3:<64 lowercase hex>/);

  assert.deepEqual(bootOrder([slot('a', 1), slot('b', 2)]).map((s) => s.name), ['b', 'a'], 'newest first');
  assert.deepEqual(bootOrder([slot('a', 1), slot('b', 2, MAX_ATTEMPTS)]).map((s) => s.name), ['a'], 'a slot that failed to come up is passed over');
  assert.equal(targetSlot([], undefined), 'a');
  assert.equal(targetSlot([slot('a', 1)], undefined), 'b', 'an empty slot first');
  assert.equal(targetSlot([slot('a', 3), slot('b', 2)], undefined), 'b', 'else the older one');
  assert.equal(targetSlot([slot('a', 1), slot('b', 2)], 'a'), 'b', 'never the running one');
  assert.equal(targetSlot([slot('a', 1), slot('b', 2)], 'b'), 'a');

  assert.equal(slotCommandLine(`console=ttyS0 zos_root=blake3:${'b'.repeat(64)} zos_farm=1 zos_slot=a\n`, slot('b', 2)),
    `console=ttyS0 zos_farm=1 zos_root=blake3:${D1} zos_slot=b`);
});

test('os upgrade: a served release is pulled by digest, verified and staged in the free slot, bootable as built', async (t) => {
  if (!requireHost(t, !skip, skip ?? '')) return;
  const slots = new Slots(join(work, 'os'));
  const imagesDir = join(work, 'images');
  const ref = { version: image.info.release, digest: image.info.digest };
  assert.equal(await stageRelease({ ref, hub: hub.url, imagesDir, slots }), 'a');
  const [a] = await slots.list();
  assert.deepEqual(a, { name: 'a', record: { digest: ref.digest, release: ref.version, generation: 1, attempts: 0, confirmed: false } });
  await slots.check(a!);
  // the slot boots exactly what the build made: same kernel, same initramfs byte for byte
  assert.ok((await readFile(slots.path('a', 'initrd.img'))).equals(await readFile(join(image.dir, 'initrd.img'))));
  assert.ok((await readFile(slots.path('a', 'vmlinuz'))).equals(await readFile(join(image.dir, 'vmlinuz'))));
  // the node's chunk store keeps the release, tagged
  const store = await DirStore.open(join(imagesDir, 'store'));
  assert.equal(await store.getTag('zos-os'), ref.digest);
  await store.close();

  // running from a: the next release goes to b, with a higher generation
  assert.equal(await stageRelease({ ref, hub: hub.url, imagesDir, slots, running: 'a' }), 'b');
  assert.deepEqual((await slots.list()).map((s) => [s.name, s.record.generation]), [['a', 1], ['b', 2]]);

  // a changed kernel in a slot is refused before it could run
  const k = await readFile(slots.path('b', 'vmlinuz'));
  k[k.length - 1] ^= 1;
  await writeFile(slots.path('b', 'vmlinuz'), k);
  await assert.rejects(slots.check((await slots.list())[1]!), /its kernel does not match the release's boot\/vmlinuz fingerprint/);
});

test('os upgrade: a release whose label, chunks or manifest do not match what the chain names is refused, slots untouched', async (t) => {
  if (!requireHost(t, !skip, skip ?? '')) return;
  const slots = new Slots(join(work, 'os-refused'));
  const imagesDir = join(work, 'images-refused');
  const digest = image.info.digest;
  await assert.rejects(stageRelease({ ref: { version: 'other', digest }, hub: hub.url, imagesDir, slots }), new RegExp(`the image is release "${image.info.release}", the chain names "other"`));
  await assert.rejects(stageRelease({ ref: { version: image.info.release, digest: 'c'.repeat(64) }, hub: hub.url, imagesDir, slots }), /not in store|not found/i);

  // a hub serving a changed chunk of the release (the one holding etc/zos-release)
  const src = await DirStore.open(join(image.dir, 'store'));
  const m = decodeManifest(await src.getManifest(digest));
  const e = m.entries.find((x) => x.path === RELEASE_PATH)!;
  assert.ok(e.type === 'file' && e.extents[0] && 'id' in e.extents[0]);
  const chunk = src.chunkPath(e.extents[0].id);
  await src.close();
  const orig = await readFile(chunk);
  const bad = Buffer.from(orig);
  bad[bad.length - 1] ^= 1;
  await writeFile(chunk, bad);
  try {
    await assert.rejects(stageRelease({ ref: { version: image.info.release, digest }, hub: hub.url, imagesDir: join(work, 'images-fresh'), slots }), /does not match its digest/);
  } finally {
    await writeFile(chunk, orig);
  }
  assert.deepEqual(await slots.list(), []);
});
