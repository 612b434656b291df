import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurably } from '../../../lib/durable.ts';
import { repoPath } from '../../../lib/paths.ts';
import { encodeCpio, type CpioEntry } from './cpio.ts';
import { VmError } from './errors.ts';

/**
 * The guest side of container-mode VMs: Debian's cloud kernel (installed by .ci/setup) and our
 * initramfs (busybox-static, the virtio, fuse and vfat modules, guest/init and its cidata.awk),
 * built once per node and cached by the hash of its inputs. Each VM's own settings travel
 * separately, on its cloud-init disk (cidata.ts), so every VM shares one kernel and one initramfs file.
 */
export const DEFAULT_GUEST_KERNEL_DIR = '/var/lib/zos/guest-kernel';
const BUSYBOX = '/bin/busybox';
// A file of the checkout, not a module: found the same way from sources or the compiled CLI.
const INIT = repoPath('node/host/vm/guest/init');
const CIDATA_AWK = repoPath('node/host/vm/guest/cidata.awk');
/** The modules guest/init loads, in load order: flat in modules/ (.ci/setup). */
const MODULES = [
  'virtio_ring', 'virtio', 'virtio_pci_modern_dev', 'virtio_pci_legacy_dev', 'virtio_pci', 'virtio_blk',
  'failover', 'net_failover', 'virtio_net', 'fuse', 'virtiofs',
];
/** Then the cloud-init disk's filesystem, from the package's module tree (lib/modules/<version>/kernel/fs). */
const FS_MODULES = ['fat/fat', 'fat/vfat', 'nls/nls_cp437', 'nls/nls_ascii'];

/** A ready initramfs in the kernel directory, used as is. */
export const PREBUILT_INITRAMFS = 'initramfs.cpio';

export interface GuestKernel {
  /** bzImage */
  kernel: string;
  /** Uncompressed cpio (TCG decompresses slowly; the file is shared by every VM). */
  initramfs: string;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/**
 * Locate the guest kernel under `kernelDir` (`vmlinuz` + `modules/*.ko`) and build, if missing,
 * the initramfs in `cacheDir`. Errors name the missing file and how to get it.
 */
export async function guestKernel(kernelDir: string, cacheDir: string): Promise<GuestKernel> {
  const kernel = join(kernelDir, 'vmlinuz');
  if (!(await exists(kernel))) {
    throw new VmError('NO_GUEST_KERNEL', `guest kernel ${kernel} not found: run .ci/setup (Debian's linux-image-cloud-amd64) or set ZOS_GUEST_KERNEL`);
  }
  // The OS image ships the initramfs built (it has no busybox to build one from; os/stage.ts).
  const prebuilt = join(kernelDir, PREBUILT_INITRAMFS);
  if (await exists(prebuilt)) return { kernel, initramfs: prebuilt };
  if (!(await exists(BUSYBOX))) throw new VmError('NO_GUEST_KERNEL', `${BUSYBOX} not found: apt-get install busybox-static`);
  const mods = await readdir(join(kernelDir, 'modules')).catch(() => [] as string[]);
  const missing = MODULES.filter((m) => !mods.includes(`${m}.ko`));
  if (missing.length) throw new VmError('NO_GUEST_KERNEL', `guest kernel modules missing in ${kernelDir}/modules: ${missing.join(', ')} (re-run .ci/setup)`);

  const [version] = await readdir(join(kernelDir, 'lib/modules')).catch(() => [] as string[]);
  const fsDir = join(kernelDir, 'lib/modules', version ?? '', 'kernel/fs');
  const fsMods = await Promise.all(FS_MODULES.map((m) => readFile(join(fsDir, `${m}.ko`)).catch(() => undefined)));
  const noFs = FS_MODULES.filter((_, i) => !fsMods[i]);
  if (noFs.length) throw new VmError('NO_GUEST_KERNEL', `guest kernel modules missing in ${fsDir}: ${noFs.join(', ')} (re-run .ci/setup)`);

  const files: [string, Buffer, number][] = [
    ['init', await readFile(INIT), 0o755],
    ['cidata.awk', await readFile(CIDATA_AWK), 0o644],
    ['bin/busybox', await readFile(BUSYBOX), 0o755],
    ...(await Promise.all(MODULES.map(async (m): Promise<[string, Buffer, number]> => [`mods/${m}.ko`, await readFile(join(kernelDir, 'modules', `${m}.ko`)), 0o644]))),
    ...FS_MODULES.map((m, i): [string, Buffer, number] => [`mods/${m.split('/')[1]}.ko`, fsMods[i]!, 0o644]),
  ];
  const h = createHash('sha256');
  for (const [p, data] of files) h.update(p).update(data);
  const initramfs = join(cacheDir, `initramfs-${h.digest('hex').slice(0, 16)}.cpio`);
  if (!(await exists(initramfs))) {
    const entries: CpioEntry[] = ['bin', 'dev', 'proc', 'sys', 'mods', 'newroot'].map((d) => ({ type: 'dir', path: d }));
    entries.push(...files.map(([path, data, mode]): CpioEntry => ({ type: 'file', path, data, mode })));
    await mkdir(cacheDir, { recursive: true });
    await writeFileDurably(initramfs, encodeCpio(entries));
  }
  return { kernel, initramfs };
}
