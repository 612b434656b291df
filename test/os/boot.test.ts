import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGrid, type Grid, type GridUser } from '../helpers/grid.ts';
import { requireHost } from '../helpers/host.ts';
import { diskDeployment, rmb, waitStates, withContract } from '../helpers/deployments.ts';
import { bootOs, BootRefusedError, GUEST_HOST, type OsVm } from '../../os/run.ts';
import { cpioMember, cpioTrailer, S_IFREG } from '../../os/cpio.ts';
import { osHostReason, osImage } from './fixtures.ts';
import { chunkAt, flipByte } from '../image/fixtures.ts';
import { buildOs, type BootInfo } from '../../os/build.ts';
import { RELEASE_PATH } from '../../os/layout.ts';
import { formatReleaseRef } from '../../os/upgrade/release.ts';
import { decodeManifest } from '../../image/manifest.ts';
import { serveStore, type ImageServer } from '../../image/serve.ts';
import { DirStore } from '../../image/store/dir-store.ts';
import { setZosVersion } from '../helpers/zos-version.ts';

/**
 * The OS image booted in QEMU (TCG) against a devnet and relay on this host, over QEMU user
 * networking with no host forward. Four boots in all, each reused for as much as it can show:
 * a blank cache disk (register, deploy, no listening socket); the same disk again (same node,
 * deployment kept), which then follows the release on chain: a tampered copy of a second build
 * on the hub is refused while the running release keeps serving, the genuine one is staged; a
 * third boot runs the second build (kexec from the slot); a tampered root is refused.
 */
// Under TCG one boot takes 1-2 min on an idle 2-core machine (hashing ~200 MB of root); far more under load.
const BOOT_MS = 420_000;
let skip: string | null = null;
let grid: Grid;
let user: GridUser;
let image: { dir: string; info: BootInfo };
let vm: OsVm | undefined;
let work = '';
/** The second build, served as the hub the node pulls releases from. */
let next: { dir: string; info: BootInfo };
let hub: ImageServer;
const first: { nodeId: number; twinId: number; contract: number } = { nodeId: 0, twinId: 0, contract: 0 };

before(async () => {
  skip = await osHostReason();
  if (skip) return;
  image = await osImage();
  work = await mkdtemp(join(tmpdir(), 'zos-os-boot-'));
  next = { dir: join(work, 'next'), info: await buildOs({ out: join(work, 'next'), release: `${image.info.release}-next` }) };
  hub = await serveStore(join(next.dir, 'store'));
  grid = await startGrid({ extraRelayDomains: [GUEST_HOST] });
  user = await grid.user();
});

after(async () => {
  await vm?.stop();
  await hub?.close();
  await grid?.close();
  if (work) await rm(work, { recursive: true, force: true });
  if (image && !process.env.ZOS_OS_IMAGE) await rm(image.dir, { recursive: true, force: true });
});

const boot = async (o: { initrd?: string } = {}) => {
  await vm?.stop(); // a test that failed midway leaves its VM, which holds the cache disk
  return bootOs({
    image: image.dir, farm: grid.farmId, chain: [grid.chainUrl], relay: [grid.relayUrl], activation: grid.activationUrl,
    cacheDisk: join(work, 'cache.raw'), hub: hub.url, releaseCheckS: 2, ...(process.env.ZOS_TEST_LOGS ? { onConsole: (l: string) => process.stderr.write(`[guest] ${l}\n`) } : {}), ...o,
  });
};

test('os: a blank cache disk boots a verified root, registers, and takes a deployment through the relay', { timeout: BOOT_MS + 120_000 }, async (t) => {
  if (!requireHost(t, !skip, skip ?? '')) return;
  vm = await boot();
  const ready = await vm.ready;
  assert.match(vm.console(), new RegExp(`root verified: blake3:${image.info.digest}`));
  assert.match(vm.console(), /cache disk \/dev\/vda formatted/);
  assert.match(vm.console(), /network eth0 10\.0\.2\.15\/24 via 10\.0\.2\.2 \(dhcp\)/);
  const node = await grid.client.query.node(ready.nodeId);
  assert.equal(node?.farmId, grid.farmId);
  Object.assign(first, ready);

  const dl = await withContract(user, ready.nodeId, (id) => diskDeployment(user, id));
  assert.equal(await rmb(user, ready.twinId, 'zos.deployment.deploy', dl), null);
  await waitStates(user, ready.twinId, dl.contract_id, (s) => s.disk === 'ok' && s.vol === 'ok', 'workloads ok', 180_000);
  first.contract = dl.contract_id;

  const diag = await rmb<{ listening_sockets: unknown[] }>(user, ready.twinId, 'zos.system.diagnostics');
  assert.deepEqual(diag.listening_sockets, [], 'no listening or bound socket anywhere in the OS');
  await vm.stop();
});

test('os: the same cache disk after a reboot gives the same node and keeps the deployment', { timeout: BOOT_MS + 60_000 }, async (t) => {
  if (!requireHost(t, !skip, skip ?? '')) return;
  assert.ok(first.contract, 'needs the first boot');
  vm = await boot();
  const ready = await vm.ready;
  assert.match(vm.console(), /cache disk \/dev\/vda reused/);
  assert.deepEqual(ready, { nodeId: first.nodeId, twinId: first.twinId });
  await waitStates(user, ready.twinId, first.contract, (s) => s.disk === 'ok' && s.vol === 'ok', 'deployment still ok', 180_000);
});

// Staging hashes and writes the ~200 MB release in the guest: ~1-2 min under TCG on an idle machine, far more under load.
test('os upgrade: a tampered release on the hub is refused and the running one keeps going; the genuine one is staged', { timeout: 2_000_000 }, async (t) => {
  if (!requireHost(t, !skip, skip ?? '')) return;
  assert.ok(vm && first.twinId, 'needs the node of the reboot test running');
  const ref = formatReleaseRef({ version: next.info.release, digest: next.info.digest });
  // the hub serves a changed chunk of the new release (the one holding etc/zos-release)
  const store = await DirStore.open(join(next.dir, 'store'));
  const e = decodeManifest(await store.getManifest(next.info.digest)).entries.find((x) => x.path === RELEASE_PATH)!;
  assert.ok(e.type === 'file' && e.extents[0] && 'id' in e.extents[0]);
  const chunk = chunkAt(store, e.extents[0].id);
  await store.close();
  await flipByte(chunk.path, chunk.offset + chunk.length - 1);
  try {
    await setZosVersion(grid.client, ref);
    const refused = await vm.waitFor(/zos: release (\S+) \(blake3:([0-9a-f]{64})\) refused: (.*); release (\S+) keeps running/, 300_000);
    assert.deepEqual([refused[1], refused[2], refused[4]], [next.info.release, next.info.digest, image.info.release]);
    assert.match(refused[3]!, /does not match its digest/);
    assert.equal((await rmb<{ zos: string }>(user, first.twinId, 'zos.system.version')).zos, image.info.release, 'the running release keeps serving');
  } finally {
    await flipByte(chunk.path, chunk.offset + chunk.length - 1);
  }
  // the next check pulls it again, now intact
  const staged = await vm.waitFor(new RegExp(`zos: release ${next.info.release.replace(/[.+]/g, '\\$&')} \\(blake3:${next.info.digest}\\) verified and staged in slot (a|b)`), 1_500_000);
  assert.equal(staged[1], 'a', 'the boot medium runs: the first free slot');
  await vm.stop();
});

test('os upgrade: after a reboot the node runs the new release (kexec from the slot), same node, deployment kept', { timeout: BOOT_MS + 120_000 }, async (t) => {
  if (!requireHost(t, !skip, skip ?? '')) return;
  vm = await boot();
  const ready = await vm.ready;
  const text = vm.console();
  assert.match(text, new RegExp(`booting release \\S+ \\(blake3:${next.info.digest}\\) from slot a, attempt 1 of 2 \\(kexec\\)`));
  assert.match(text, new RegExp(`root verified: blake3:${next.info.digest}`), 'the new release verified its own root');
  assert.deepEqual(ready, { nodeId: first.nodeId, twinId: first.twinId });
  await vm.waitFor(new RegExp(`release ${next.info.release.replace(/[.+]/g, '\\$&')} confirmed in slot a`), 60_000);
  // several requests at once: their signature checks go to the worker threads bundled beside init
  const answers = await Promise.all(Array.from({ length: 8 }, () => rmb<{ zos: string }>(user, ready.twinId, 'zos.system.version')));
  assert.deepEqual(answers.map((a) => a.zos), Array(8).fill(next.info.release));
  await waitStates(user, ready.twinId, first.contract, (s) => s.disk === 'ok' && s.vol === 'ok', 'deployment still ok', 180_000);
  await vm.stop();
});

test('os: a tampered root file stops the boot with a console line naming it', { timeout: BOOT_MS }, async (t) => {
  if (!requireHost(t, !skip, skip ?? '')) return;
  // A second archive appended to the initramfs replaces a program, as a tampered boot medium would.
  const tampered = join(work, 'tampered-initrd.img');
  const evil = cpioMember({ name: 'usr/sbin/losetup', mode: S_IFREG | 0o755, uid: 0, gid: 0, mtime: 1_735_689_600 }, Buffer.from('#!/bin/sh\necho owned\n'), 900_000);
  await writeFile(tampered, Buffer.concat([await readFile(join(image.dir, 'initrd.img')), evil, cpioTrailer()]));
  vm = await boot({ initrd: tampered });
  await assert.rejects(vm.ready, (err: Error) => {
    assert.ok(err instanceof BootRefusedError, err.message);
    assert.match(err.message, /"usr\/sbin\/losetup" in \/ has size \d+, expected \d+/);
    return true;
  });
  assert.doesNotMatch(vm.console(), /ready node/);
});
