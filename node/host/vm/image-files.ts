import { lstat, realpath, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { Stats } from 'node:fs';
import { VmError } from './errors.ts';
import type { VmSpec } from './spec.ts';

/** The files of an image that decide how it boots (zos' getFlistInfo), relative to its root. */
export const IMAGE_RAW = 'image.raw';
export const IMAGE_KERNEL = 'boot/vmlinuz';
export const IMAGE_INITRD = 'boot/initrd.img';

/** Go's FileMode.Type().String() for what stat can return besides a file or directory. */
function goType(st: Stats): string {
  if (st.isBlockDevice()) return 'D---------';
  if (st.isCharacterDevice()) return 'Dc---------';
  if (st.isFIFO()) return 'p---------';
  if (st.isSocket()) return 'S---------';
  return '?---------';
}

/**
 * The real path of the image file `rel` under `root`, or undefined when it is absent (a dangling
 * link counts as absent, as zos' stat does). A link may point anywhere inside the root, never
 * out of it: resolved by the host, `/image.raw -> /dev/sda` would copy the host's disk into a VM,
 * and a kernel link could make QEMU read a host file. Checked on the resolved path, so a link in
 * a parent directory counts too. zos' texts: `path '/boot/vmlinuz' points to invalid location`,
 * `cannot be a directory`, `is of invalid type: <Go mode>`.
 */
export async function imageFile(root: string, rel: string): Promise<string | undefined> {
  const path = join(root, rel);
  if (!(await lstat(path).then(() => true, () => false))) return undefined;
  const real = await realpath(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (!real) return undefined;
  const within = relative(await realpath(root), real);
  if (!within || within === '..' || within.startsWith(`..${sep}`)) throw new VmError('BAD_SPEC', `path '/${rel}' points to invalid location`);
  const st = await stat(real);
  if (st.isDirectory()) throw new VmError('BAD_SPEC', `path '/${rel}' cannot be a directory`);
  if (!st.isFile()) throw new VmError('BAD_SPEC', `path '/${rel}' is of invalid type: ${goType(st)}`);
  return real;
}

/**
 * A kernel-mode VM boots the kernel and initrd of its own writable root, which its guest may have
 * changed since it was deployed (zos boots what is there): checked again before each launch, with
 * the guest stopped, so a link the guest made to a host file never reaches QEMU. Other specs as given.
 */
export async function checkedBootFiles(spec: VmSpec): Promise<VmSpec> {
  const b = spec.boot;
  const vroot = spec.shares.find((s) => s.tag === 'vroot')?.path;
  if (b.kind !== 'kernel' || b.root === 'disk' || !vroot) return spec;
  const rel = (p: string) => relative(vroot, p);
  const kernel = await imageFile(vroot, rel(b.kernel));
  if (!kernel) throw new VmError('START_FAILED', `the vm's kernel /${rel(b.kernel)} is gone from its root`);
  const initrd = b.initrd ? await imageFile(vroot, rel(b.initrd)) : undefined;
  return { ...spec, boot: { ...b, kernel, initrd } };
}
