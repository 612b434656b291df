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

/**
 * The OS image booted in QEMU (TCG) against a devnet and relay on this host, over QEMU user
 * networking with no host forward. Three boots in all: a blank cache disk (register, deploy,
 * no listening socket), the same disk again (same node, deployment kept), a tampered root.
 */
// Under TCG one boot takes 1-2 min on an idle 2-core machine (hashing ~200 MB of root); far more under load.
const BOOT_MS = 420_000;
let skip: string | null = null;
let grid: Grid;
let user: GridUser;
let image: { dir: string; info: { digest: string } };
let vm: OsVm | undefined;
let work = '';
const first: { nodeId: number; twinId: number; contract: number } = { nodeId: 0, twinId: 0, contract: 0 };

before(async () => {
  skip = await osHostReason();
  if (skip) return;
  image = await osImage();
  work = await mkdtemp(join(tmpdir(), 'zos-os-boot-'));
  grid = await startGrid({ extraRelayDomains: [GUEST_HOST] });
  user = await grid.user();
});

after(async () => {
  await vm?.stop();
  await grid?.close();
  if (work) await rm(work, { recursive: true, force: true });
  if (image && !process.env.ZOS_OS_IMAGE) await rm(image.dir, { recursive: true, force: true });
});

const boot = (o: { initrd?: string } = {}) =>
  bootOs({
    image: image.dir, farm: grid.farmId, chain: [grid.chainUrl], relay: [grid.relayUrl], activation: grid.activationUrl,
    cacheDisk: join(work, 'cache.raw'), ...(process.env.ZOS_TEST_LOGS ? { onConsole: (l: string) => process.stderr.write(`[guest] ${l}\n`) } : {}), ...o,
  });

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
