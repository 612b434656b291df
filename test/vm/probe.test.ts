import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { access, chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../lib/log.ts';
import { probeAccel } from '../../node/host/vm/probe.ts';

// The accelerator probe with stand-in QEMUs (shell scripts): a KVM that boots, one that stalls.
// It must be quick when KVM is broken and ask once per host boot.

async function fakeQemu(dir: string, name: string, body: string): Promise<string> {
  const f = join(dir, name);
  await writeFile(f, `#!/bin/sh\necho run >> ${f}.runs\n${body}\n`);
  await chmod(f, 0o755);
  return f;
}

const runs = (qemu: string) => readFile(`${qemu}.runs`, 'utf8').then((t) => t.split('\n').filter(Boolean).length, () => 0);

test('probe: a stalling KVM falls back to TCG within the timeout; the answer is cached per host boot', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'zos-probe-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const kvmUsable = await access('/dev/kvm', constants.R_OK | constants.W_OK).then(() => true, () => false);
  const guest = { kernel: join(dir, 'vmlinuz'), initramfs: join(dir, 'initramfs.cpio') };
  await writeFile(guest.kernel, 'k');
  const cacheDir = join(dir, 'cache');

  const stall = await fakeQemu(dir, 'qemu-stall', 'exec sleep 30');
  let t0 = Date.now();
  assert.equal(await probeAccel(stall, guest, silentLogger(), { cacheDir, timeoutMs: 800 }), 'tcg');
  assert.ok(Date.now() - t0 < 3000, `a stalled probe is cut at its timeout (${Date.now() - t0} ms)`);
  assert.equal(await runs(stall), kvmUsable ? 1 : 0, 'QEMU runs only when /dev/kvm is usable');
  t0 = Date.now();
  assert.equal(await probeAccel(stall, guest, silentLogger(), { cacheDir, timeoutMs: 800 }), 'tcg');
  assert.ok(Date.now() - t0 < 500, 'the second ask is answered from the cache');
  assert.equal(await runs(stall), kvmUsable ? 1 : 0, 'no second probe boot');

  // Another host boot (boot_id) asks again.
  const [file] = (await readdir(cacheDir)).filter((f) => f.startsWith('accel-'));
  await writeFile(join(cacheDir, file!), JSON.stringify({ bootId: 'another-boot', accel: 'kvm' }));
  assert.equal(await probeAccel(stall, guest, silentLogger(), { cacheDir, timeoutMs: 800 }), 'tcg');

  // A KVM whose guest init prints is taken (where /dev/kvm is usable), as soon as it prints.
  const boots = await fakeQemu(dir, 'qemu-boots', 'echo "zos-init: error: no seed"; exec sleep 30');
  t0 = Date.now();
  assert.equal(await probeAccel(boots, guest, silentLogger(), { cacheDir, timeoutMs: 5000 }), kvmUsable ? 'kvm' : 'tcg');
  assert.ok(Date.now() - t0 < 4000, 'not held until the timeout');
});
