import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, lutimes, mkdir, mkdtemp, readdir, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { decodeManifest, manifestDigest } from '../../image/manifest.ts';
import { initHash } from '../../image/hash.ts';
import type { Manifest } from '../../image/index.ts';
import { S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, cpioMember, cpioTrailer, parseCpio } from '../../os/cpio.ts';
import { parseBootConfig, formatBootConfig, parseNet } from '../../os/init/config.ts';
import { decodeDhcp, encodeDhcp, DhcpType, maskBits } from '../../os/init/dhcp.ts';
import { verifyRoot } from '../../os/init/verify.ts';
import { findGuestKernel } from '../../os/kernel.ts';
import { ROOT_MANIFEST_PATH, INIT_PATH, KERNEL_PATH, RELEASE_PATH, VM_GUEST_KERNEL_DIR } from '../../os/layout.ts';
import { guestKernel, PREBUILT_INITRAMFS } from '../../node/host/vm/guest.ts';
import { BOOT_MODULES, modinfoDepends, moduleClosure } from '../../os/modules.ts';
import { FORBIDDEN, LEFT_OUT, scanSources } from '../../os/programs.ts';
import { guestUrl } from '../../os/run.ts';
import { WORKER_MODULES } from '../../os/bundle.ts';
import { REPO_ROOT } from '../../lib/paths.ts';
import { parseListening } from '../../node/host/sockets.ts';
import { serveStore, type ImageServer } from '../../image/serve.ts';
import { DirStore } from '../../image/store/dir-store.ts';
import type { StoreFilesJob, StoreFilesOutcome } from '../../image/build-worker.ts';
import type { ImageJob } from '../../image/worker.ts';
import { chunkAt, flipByte, storeWithWorker } from '../image/fixtures.ts';
import { initChunkCodec, sealChunk } from '../../image/chunk-codec.ts';
import { DEFAULT_CHUNKING } from '../../image/chunker.ts';
import { slotCommandLine } from '../../os/init/slot-boot.ts';
import { formatReleaseRef, parseReleaseRef } from '../../os/upgrade/release.ts';
import { bootOrder, MAX_ATTEMPTS, Slots, targetSlot, type Slot } from '../../os/upgrade/slots.ts';
import { stageRelease } from '../../os/upgrade/stage.ts';
import { requireHost } from '../helpers/host.ts';
import { osHostReason, osImage } from './fixtures.ts';

/**
 * The OS image build, without booting it: contents, no shell, exact programs, verified boot run on
 * the host, and upgrades: the release reference, slot choice, staging a served release into a slot.
 */
let skip: string | null = null;
let image: Awaited<ReturnType<typeof osImage>>;
let hub: ImageServer;
let manifest: Manifest;
let members: ReturnType<typeof parseCpio>;
let work = '';

before(async () => {
  skip = await osHostReason();
  if (skip) return;
  image = await osImage();
  await initHash();
  members = parseCpio(await readFile(join(image.dir, 'initrd.img')));
  const m = members.find((x) => x.name === ROOT_MANIFEST_PATH)!;
  manifest = decodeManifest(m.data);
  work = await mkdtemp(join(tmpdir(), 'zos-os-build-'));
  hub = await serveStore(join(image.dir, 'store'));
});
after(async () => {
  await hub?.close();
  if (work) await rm(work, { recursive: true, force: true });
  if (image && !process.env.ZOS_OS_IMAGE) await rm(image.dir, { recursive: true, force: true });
});

test('os codecs: cpio newc, boot config, guest URLs, DHCP, /proc/net tables', () => {
  const a = Buffer.concat([cpioMember({ name: 'etc', mode: S_IFDIR | 0o755, uid: 0, gid: 0, mtime: 7 }, undefined, 1), cpioMember({ name: 'etc/x', mode: S_IFREG | 0o644, uid: 1, gid: 2, mtime: 9 }, Buffer.from('hello'), 2), cpioTrailer()]);
  assert.equal(a.length % 4, 0);
  assert.equal(a.subarray(0, 6).toString(), '070701');
  const got = parseCpio(a);
  assert.deepEqual(got.map((m) => [m.name, m.mode, m.uid, m.gid, m.mtime, m.data.toString()]), [['etc', S_IFDIR | 0o755, 0, 0, 7, ''], ['etc/x', S_IFREG | 0o644, 1, 2, 9, 'hello']]);

  const env = { zos_root: `blake3:${'ab'.repeat(32)}`, zos_farm: '3', zos_chain: 'ws://10.0.2.2:9944', zos_relay: 'ws://10.0.2.2:1,wss://r.example', zos_net: 'static:10.0.2.15/24,10.0.2.2,10.0.2.3' };
  const cfg = parseBootConfig(env);
  assert.deepEqual(cfg.relay, ['ws://10.0.2.2:1', 'wss://r.example']);
  assert.deepEqual(cfg.net, { mode: 'static', address: '10.0.2.15', prefix: 24, gateway: '10.0.2.2', dns: ['10.0.2.3'] });
  const again = Object.fromEntries(formatBootConfig(cfg).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]));
  assert.deepEqual(parseBootConfig(again), cfg);
  assert.throws(() => parseBootConfig({ ...env, zos_root: undefined }), /zos_root=blake3:<hex> is missing/);
  assert.throws(() => parseBootConfig({ ...env, zos_farm: 'x' }), /zos_farm/);
  assert.throws(() => parseBootConfig({ ...env, zos_chain: 'http://x' }), /not a ws:\/\/ or wss:\/\/ URL/);
  assert.throws(() => parseNet('static:10.0.2.300/24,10.0.2.2'), /zos_net/);
  assert.equal(cfg.releaseCheckS, 600);
  const upgrading = parseBootConfig({ ...env, zos_hub: 'http://10.0.2.2:8081/', zos_release_check: '5', zos_slot: 'b' });
  assert.deepEqual([upgrading.hub, upgrading.releaseCheckS, upgrading.slot], ['http://10.0.2.2:8081/', 5, 'b']);
  const words = formatBootConfig(upgrading);
  assert.deepEqual(parseBootConfig(Object.fromEntries(words.map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]))), upgrading);
  assert.throws(() => parseBootConfig({ ...env, zos_hub: 'ftp://x' }), /zos_hub: "ftp:\/\/x" is not an http/);
  assert.throws(() => parseBootConfig({ ...env, zos_slot: 'c' }), /zos_slot: "c" is not a or b/);
  assert.throws(() => parseBootConfig({ ...env, zos_release_check: '0' }), /zos_release_check/);

  assert.equal(guestUrl('ws://127.0.0.1:9944'), 'ws://10.0.2.2:9944');
  assert.equal(guestUrl('http://localhost:8080/activation/activate'), 'http://10.0.2.2:8080/activation/activate');
  assert.equal(guestUrl('wss://relay.dev.grid.tf'), 'wss://relay.dev.grid.tf');

  const mac = Buffer.from([0x52, 0x54, 0, 0x12, 0x34, 0x56]);
  const req = decodeDhcp(encodeDhcp({ type: DhcpType.Request, xid: 0xdeadbeef, mac, requested: '10.0.2.15', server: '10.0.2.2' }))!;
  assert.equal(req.type, DhcpType.Request);
  assert.equal(req.xid, 0xdeadbeef);
  assert.ok(req.mac.equals(mac));
  assert.equal(req.server, '10.0.2.2');
  assert.equal(decodeDhcp(Buffer.alloc(100)), undefined);
  assert.equal(maskBits('255.255.255.0'), 24);

  const tcp = '  sl  local_address rem_address   st\n   0: 0100007F:1F90 00000000:0000 0A 0\n   1: 0F02000A:D2F0 0202000A:1F90 01 0\n';
  assert.deepEqual(parseListening('tcp', tcp), [{ proto: 'tcp', local: '0100007F:1F90' }]);
});

test('os programs: the source scan finds commands and any use of a shell', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'zos-os-scan-'));
  try {
    await writeFile(join(dir, 'a.ts'), "await run('btrfs', ['x']);\nawait nsExec(ns, 'nft', ['-f', '-']);\nconst r = db.run('schema');\n");
    await writeFile(join(dir, 'b.ts'), "execa('ip', ['netns', 'exec', ns, 'sh', '-c', 'exec \"$@\"']);\n");
    await writeFile(join(dir, 'c.ts'), "await execa('ls', [], { shell: true });\n");
    const scan = await scanSources(dir, ['a.ts', 'b.ts', 'c.ts']);
    assert.deepEqual([...scan.commands.keys()].sort(), ['btrfs', 'ip', 'ls', 'nft']);
    assert.deepEqual(scan.shellUsers, ['b.ts', 'c.ts']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('os build: kernel modules come with their dependencies', async (t) => {
  if (!requireHost(t, !skip, skip ?? '')) return;
  const k = await findGuestKernel();
  const c = await moduleClosure(k.modulesDir, ['btrfs']);
  assert.ok(c.order.indexOf('raid6_pq') >= 0 && c.order.indexOf('raid6_pq') < c.order.indexOf('btrfs'), 'dependencies first');
  assert.deepEqual(modinfoDepends(Buffer.from('x\0license=GPL\0depends=virtio,virtio_ring\0name=a\0')), ['virtio', 'virtio_ring']);
  const paths = new Set(manifest.entries.map((e) => e.path));
  for (const m of BOOT_MODULES) assert.ok([...paths].some((p) => p.startsWith(`usr/lib/modules/${k.version}/`) && basename(p).replace(/-/g, '_') === `${m}.ko`), `module ${m} in the image`);
  assert.ok(paths.has(`usr/lib/modules/${k.version}/modules.dep`), 'depmod ran on the image');
});

test('os build: the root has no shell, exactly the programs the node runs, and a Node init', async (t) => {
  if (!requireHost(t, !skip, skip ?? '')) return;
  const paths = manifest.entries.map((e) => e.path);
  for (const p of paths) assert.ok(!FORBIDDEN.includes(basename(p)), `${p} must not be in the image`);
  const programs = image.info.programs;
  for (const p of ['btrfs', 'mkfs.btrfs', 'losetup', 'blkid', 'mount', 'umount', 'ip', 'modprobe']) assert.ok(programs.includes(p), `${p} is in the image`);
  const binaries = [...new Set(paths.filter((p) => /^usr\/s?bin\/[^/]+$/.test(p)).map((p) => basename(p)))].sort();
  // a program that is a symlink brings its target (modprobe -> kmod, mkfs.ext4 -> mke2fs)
  const linkTargets = manifest.entries.flatMap((e) =>
    e.type === 'symlink' && /^usr\/s?bin\/[^/]+$/.test(e.path) && programs.includes(basename(e.path)) ? [basename(e.target)] : [],
  );
  assert.deepEqual(binaries, [...new Set([...programs.filter((p) => !p.startsWith('/')), 'node', ...linkTargets])].sort(), 'exactly the programs the node runs and their link targets');
  for (const p of programs.filter((x) => x.startsWith('/'))) assert.ok(paths.includes(p.slice(1)), `${p} in the image`);
  for (const left of LEFT_OUT) assert.ok(!binaries.includes(left.cmd), `${left.cmd} is left out`);
  for (const m of image.info.missing) t.diagnostic(`left out: ${m.cmd} (${m.why})`);
  assert.deepEqual(image.info.shellUsers, [], 'no node source runs a program through a shell (the OS image has none)');
  for (const e of manifest.entries) {
    if (e.type === 'hardlink') continue;
    assert.equal(e.uid, 0, `${e.path} owned by root`);
    if (e.type === 'file') assert.equal(e.mode & 0o7022, 0, `${e.path}: no set-id bits, no group/world write`);
  }
  const init = manifest.entries.find((e) => e.path === 'init');
  assert.deepEqual(init && init.type === 'symlink' ? init.target : null, INIT_PATH);
  const initFile = members.find((m) => m.name === INIT_PATH)!;
  assert.equal(initFile.data.subarray(0, 16).toString(), '#!/usr/bin/node\n');
  // the initramfs is the image: every manifest entry, then console, null and the manifest itself
  assert.deepEqual(members.map((m) => m.name), [...paths, 'dev/console', 'dev/null', 'run/zos', ROOT_MANIFEST_PATH]);
  assert.equal(manifestDigest(members.at(-1)!.data), image.info.digest);
});

test('os build: VMs inside the OS get the OS kernel (linked, no second copy) and a built guest initramfs', async (t) => {
  if (!requireHost(t, !skip, skip ?? '')) return;
  const link = manifest.entries.find((e) => e.path === `${VM_GUEST_KERNEL_DIR}/vmlinuz`);
  assert.ok(link?.type === 'symlink');
  assert.equal(join('/', VM_GUEST_KERNEL_DIR, link.target), `/${KERNEL_PATH}`);
  const initramfs = members.find((m) => m.name === `${VM_GUEST_KERNEL_DIR}/${PREBUILT_INITRAMFS}`)!;
  const names = parseCpio(initramfs.data).map((m) => m.name);
  for (const n of ['init', 'bin/busybox', 'mods/virtio_net.ko', 'mods/virtiofs.ko']) assert.ok(names.includes(n), `${n} in the guest initramfs`);
  // the VM host uses a shipped initramfs as is (the OS has no busybox to build one)
  const dir = join(work, 'guest-kernel');
  await mkdir(dir);
  await writeFile(join(dir, 'vmlinuz'), 'kernel');
  await writeFile(join(dir, PREBUILT_INITRAMFS), initramfs.data);
  assert.deepEqual(await guestKernel(dir, join(work, 'vm-cache')), { kernel: join(dir, 'vmlinuz'), initramfs: join(dir, PREBUILT_INITRAMFS) });
});

test('os build: modules the daemon runs on worker threads are bundled beside init as loadable .js twins', async (t) => {
  if (!requireHost(t, !skip, skip ?? '')) return;
  // every worker module the daemon's code starts is in WORKER_MODULES
  const started = new Set<string>();
  for (const top of ['node', 'rmb', 'relay-client', 'chain', 'image', 'lib', 'os']) {
    for (const f of await readdir(join(REPO_ROOT, top), { recursive: true })) {
      if (!f.endsWith('.ts')) continue;
      const text = await readFile(join(REPO_ROOT, top, f), 'utf8');
      for (const m of text.matchAll(/new WorkerPool(?:<[^(]*>)?\(\s*new URL\('\.\/([\w-]+\.ts)', import\.meta\.url\)/g)) started.add(join(top, dirname(f), m[1]!));
    }
  }
  assert.deepEqual([...started].sort(), [...WORKER_MODULES].sort());
  // loaded as the pool loads them: from beside init, where package.json says "module"
  const lib = join(work, 'usr-lib-zos');
  await mkdir(lib);
  for (const f of ['package.json']) await writeFile(join(lib, f), members.find((m) => m.name === `usr/lib/zos/${f}`)!.data);
  // with the native addons the image carries (BLAKE3, zstd), as the init finds them
  for (const m of members.filter((x) => x.name.startsWith('usr/lib/zos/node_modules/') && (x.mode & S_IFMT) === S_IFREG)) {
    const to = join(lib, m.name.slice('usr/lib/zos/'.length));
    await mkdir(dirname(to), { recursive: true });
    await writeFile(to, m.data);
  }
  // libsodium (RMB's ed25519) loads from beside init as rmb/ed25519.ts asks for it, and signs
  const probe = join(lib, 'sodium-probe.mjs');
  await writeFile(probe, "import { createRequire } from 'node:module'; const r = createRequire(import.meta.url); export const sodium = r('sodium-native'), where = r.resolve('sodium-native');");
  const { sodium, where } = (await import(probe)) as { sodium: { crypto_sign_seed_keypair(pk: Buffer, sk: Buffer, seed: Buffer): void }; where: string };
  assert.ok(where.startsWith(join(lib, 'node_modules')), where);
  const [pk, sk] = [Buffer.alloc(32), Buffer.alloc(64)];
  sodium.crypto_sign_seed_keypair(pk, sk, Buffer.alloc(32, 7));
  assert.notDeepEqual(pk, Buffer.alloc(32));
  // our addon too (lib/native.ts asks for it the same way): syncfs(2) in-process, so the image carries no `sync`
  const ours = join(lib, 'native-probe.mjs');
  await writeFile(ours, "import { createRequire } from 'node:module'; const r = createRequire(import.meta.url); export const native = r('zos-native'), where = r.resolve('zos-native');");
  const { native, where: nativeWhere } = (await import(ours)) as { native: { syncfs(path: string): Promise<void>; mallocTrim(): boolean }; where: string };
  assert.ok(nativeWhere.startsWith(join(lib, 'node_modules')), nativeWhere);
  await native.syncfs(lib);
  assert.equal(typeof native.mallocTrim(), 'boolean');
  for (const w of WORKER_MODULES) {
    const file = members.find((m) => m.name === `usr/lib/zos/${basename(w, '.ts')}.js`);
    assert.ok(file, `${w} bundled`);
    const copy = join(lib, basename(file.name));
    await writeFile(copy, file.data);
    const mod = (await import(copy)) as { work?: unknown };
    assert.equal(typeof mod.work, 'function', `${w} exports work()`);
  }
  // the build worker seals with the image's own zstd and BLAKE3 addons: the chunk it stores is the one sealed here
  const imageWorker = (await import(join(lib, 'worker.js'))) as { work(job: ImageJob): Promise<StoreFilesOutcome> };
  const buildWork = (job: StoreFilesJob) => imageWorker.work({ kind: 'build', job });
  const data = Buffer.concat([Buffer.alloc(40_000, 'zos '), Buffer.from('end')]);
  const store = join(work, 'probe-store');
  await mkdir(join(store, 'tmp'), { recursive: true });
  await writeFile(join(work, 'probe-file'), data);
  const [stored] = (await storeWithWorker(buildWork, [{ path: join(work, 'probe-file'), size: data.length }], { chunking: DEFAULT_CHUNKING, encrypt: false, store })).stored;
  await initChunkCodec();
  const sealed = sealChunk(data, { encrypt: false });
  assert.equal(sealed.blob[2], 1, 'a zstd frame');
  assert.deepEqual(stored?.extents, [{ id: sealed.id, size: data.length }]);
  const [added] = stored!.added; // in the worker's pack, which a build names once its workers are done
  assert.deepEqual((await readFile(added!.pack)).subarray(added!.offset, added!.offset + added!.bytes), sealed.blob);
});

/** Unpacks the initramfs as the kernel does (owners, modes, whole-second mtimes). */
async function unpack(root: string): Promise<void> {
  for (const m of members) {
    const p = join(root, m.name);
    const type = m.mode & S_IFMT;
    if (type === S_IFDIR) await mkdir(p, { recursive: true });
    else if (type === S_IFLNK) await symlink(m.data.toString(), p);
    else if (type === S_IFREG) await writeFile(p, m.data);
    else continue; // device nodes live under dev/, a mount point
    if (type !== S_IFLNK) {
      await chown(p, m.uid, m.gid);
      await chmod(p, m.mode & 0o7777);
    }
  }
  for (const m of [...members].reverse()) if ((m.mode & S_IFMT) !== 0o020000) await lutimes(join(root, m.name), m.mtime, m.mtime);
}

test('os verified boot: init accepts the root as built and names a changed, added or missing file', async (t) => {
  if (!requireHost(t, !skip, skip ?? '')) return;
  const root = join(work, 'root');
  await unpack(root);
  const ok = await verifyRoot(image.info.digest, root);
  assert.ok(ok.files > 100 && ok.bytes > 50e6, `hashed ${ok.files} files`);
  await assert.rejects(verifyRoot('0'.repeat(64), root), /the kernel command line requires blake3:0{64}/);

  const refused = async (re: RegExp) => assert.rejects(verifyRoot(image.info.digest, root), (e: Error) => (assert.equal(e.name, 'BootRefused'), assert.match(e.message, re), true));
  const target = join(root, 'usr/sbin/losetup');
  const orig = await readFile(target);
  const flipped = Buffer.from(orig);
  flipped[flipped.length - 1] ^= 1;
  await writeFile(target, flipped);
  await lutimes(target, 1_735_689_600, 1_735_689_600); // same size and mtime: only the fingerprint tells
  await refused(/"usr\/sbin\/losetup" in .* was modified \(content does not match its BLAKE3 fingerprint\)/);
  await writeFile(target, orig);
  await lutimes(target, 1_735_689_600, 1_735_689_600);

  await writeFile(join(root, 'usr/bin/sh'), '#!/usr/bin/node\n');
  await refused(/"usr\/bin\/sh" in .* is not part of the image/);
  await unlink(join(root, 'usr/bin/sh'));
  await writeFile(join(root, 'run/anything'), 'mount points are not checked');

  await unlink(join(root, 'usr/bin/btrfs'));
  await refused(/"usr\/bin\/btrfs" in .* is missing/);
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
  const chunk = chunkAt(src, e.extents[0].id);
  await src.close();
  await flipByte(chunk.path, chunk.offset + chunk.length - 1);
  try {
    await assert.rejects(stageRelease({ ref: { version: image.info.release, digest }, hub: hub.url, imagesDir: join(work, 'images-fresh'), slots }), /does not match its digest/);
  } finally {
    await flipByte(chunk.path, chunk.offset + chunk.length - 1);
  }
  assert.deepEqual(await slots.list(), []);
});
