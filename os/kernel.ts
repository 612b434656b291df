import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The guest kernel: Debian's cloud kernel package extracted whole by .ci/guest-kernel into
 * $ZOS_GUEST_KERNEL (default /var/cache/zos/guest-kernel): boot/vmlinuz-<v> and lib/modules/<v>/.
 */
export const DEFAULT_KERNEL_DIR = '/var/cache/zos/guest-kernel';

export interface GuestKernel {
  version: string;
  vmlinuz: string;
  /** lib/modules/<version> */
  modulesDir: string;
}

export async function findGuestKernel(dir = process.env.ZOS_GUEST_KERNEL ?? DEFAULT_KERNEL_DIR): Promise<GuestKernel> {
  const names = await readdir(join(dir, 'boot')).catch(() => [] as string[]);
  const vmlinuz = names.filter((n) => n.startsWith('vmlinuz-')).sort().at(-1);
  if (!vmlinuz) throw new Error(`no guest kernel in ${dir}/boot: run .ci/guest-kernel (or set ZOS_GUEST_KERNEL)`);
  const version = vmlinuz.slice('vmlinuz-'.length);
  const modulesDir = join(dir, 'lib', 'modules', version);
  if (!(await stat(modulesDir).catch(() => null))?.isDirectory()) throw new Error(`guest kernel ${version}: no ${modulesDir}`);
  return { version, vmlinuz: join(dir, 'boot', vmlinuz), modulesDir };
}
