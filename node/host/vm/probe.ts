import type { Logger } from '../../../lib/log.ts';
import { runResult } from '../exec.ts';
import type { GuestKernel } from './guest.ts';
import type { Accel } from './spec.ts';

/**
 * `/dev/kvm` existing does not mean KVM runs a stock kernel (nested "pvm" KVM here accepts
 * ioctls, then stalls). Boot our initramfs under KVM for at most 10 s: KVM only when the guest
 * init really prints, otherwise TCG.
 */
export async function probeAccel(qemu: string, guest: GuestKernel, log: Logger, timeoutMs = 10_000): Promise<Accel> {
  const r = await runResult(
    qemu,
    ['-machine', 'q35,accel=kvm', '-m', '256M', '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot', '-serial', 'stdio',
      '-kernel', guest.kernel, '-initrd', guest.initramfs, '-append', 'console=ttyS0 panic=-1 quiet'],
    { timeoutMs, log },
  ).catch(() => undefined);
  const accel: Accel = r?.stdout.includes('zos-init:') ? 'kvm' : 'tcg';
  log.info({ accel }, 'accelerator probe');
  return accel;
}
