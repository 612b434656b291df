import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The guest kernel, shared with VMs: Debian's cloud kernel package, installed by .ci/setup into
 * $ZOS_GUEST_KERNEL (default /var/lib/zos/guest-kernel) as vmlinuz plus, for the OS image, the
 * package's whole module tree in lib/modules/<version>/.
 */
export const DEFAULT_KERNEL_DIR = '/var/lib/zos/guest-kernel';

export interface GuestKernel {
  /** The directory (vmlinuz, modules/, lib/modules/): VMs' layout too (node/host/vm/guest.ts). */
  dir: string;
  version: string;
  vmlinuz: string;
  /** lib/modules/<version> */
  modulesDir: string;
}

export async function findGuestKernel(dir = process.env.ZOS_GUEST_KERNEL ?? DEFAULT_KERNEL_DIR): Promise<GuestKernel> {
  const vmlinuz = join(dir, 'vmlinuz');
  const versions = await readdir(join(dir, 'lib', 'modules')).catch(() => [] as string[]);
  if (!(await stat(vmlinuz).catch(() => null)) || versions.length !== 1) {
    throw new Error(`no guest kernel with its module tree in ${dir} (vmlinuz, lib/modules/<version>/): run .ci/setup as root, or set ZOS_GUEST_KERNEL`);
  }
  return { dir, version: versions[0]!, vmlinuz, modulesDir: join(dir, 'lib', 'modules', versions[0]!) };
}
