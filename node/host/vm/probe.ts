import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurably } from '../../../lib/durable.ts';
import type { Logger } from '../../../lib/log.ts';
import type { GuestKernel } from './guest.ts';
import type { Accel } from './spec.ts';

/** Where probe results are kept: tmpfs, so a host reboot (new kernel, KVM module) probes again. */
export const ACCEL_CACHE_DIR = '/run/zos';
/** A working KVM reaches our guest init in well under a second; a broken one never does. */
const PROBE_TIMEOUT_MS = 3000;
const MARKER = 'zos-init:';

/**
 * `/dev/kvm` existing does not mean KVM runs a stock kernel (nested "pvm" KVM here accepts
 * ioctls and runs real-mode code, then stalls in the kernel's mode switch). So: no usable
 * `/dev/kvm` -> TCG at once; otherwise boot our initramfs under KVM for at most 3 s and take KVM
 * only when the guest init really prints. The answer is kept per host boot (boot_id), QEMU
 * binary and guest kernel in ACCEL_CACHE_DIR: one probe per machine boot, not per node start.
 */
export async function probeAccel(qemu: string, guest: GuestKernel, log: Logger, o: { timeoutMs?: number; cacheDir?: string } = {}): Promise<Accel> {
  const cacheDir = o.cacheDir ?? ACCEL_CACHE_DIR;
  const bootId = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => '')).trim();
  const kst = await stat(guest.kernel).catch(() => undefined);
  const key = createHash('sha256').update(`${qemu}\0${guest.kernel}\0${kst?.size}\0${kst?.mtimeMs}`).digest('hex').slice(0, 16);
  const file = join(cacheDir, `accel-${key}.json`);
  const cached = await readFile(file, 'utf8').then((t) => JSON.parse(t) as { bootId: string; accel: Accel }, () => undefined);
  if (bootId && cached?.bootId === bootId && (cached.accel === 'kvm' || cached.accel === 'tcg')) return cached.accel;

  const started = Date.now();
  const kvm = await access('/dev/kvm', constants.R_OK | constants.W_OK).then(() => true, () => false);
  const accel: Accel = kvm && (await bootsUnderKvm(qemu, guest, o.timeoutMs ?? PROBE_TIMEOUT_MS)) ? 'kvm' : 'tcg';
  log.info({ accel, ms: Date.now() - started }, 'accelerator probe');
  if (bootId) {
    await mkdir(cacheDir, { recursive: true, mode: 0o755 }).catch(() => undefined);
    await writeFileDurably(file, JSON.stringify({ bootId, accel })).catch(() => undefined);
  }
  return accel;
}

/** True as soon as the guest init prints under KVM; false on exit or after `timeoutMs`. */
function bootsUnderKvm(qemu: string, guest: GuestKernel, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const p = spawn(qemu, ['-machine', 'q35,accel=kvm', '-m', '256M', '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot', '-serial', 'stdio',
      '-kernel', guest.kernel, '-initrd', guest.initramfs, '-append', 'console=ttyS0 panic=-1 quiet'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    const done = (ok: boolean) => {
      clearTimeout(timer);
      p.kill('SIGKILL');
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    p.stdout.on('data', (d: Buffer) => {
      out = (out + d.toString()).slice(-4096);
      if (out.includes(MARKER)) done(true);
    });
    p.on('error', () => done(false));
    p.on('exit', () => done(out.includes(MARKER)));
  });
}
