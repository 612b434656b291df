/** Paths of the OS root that the build and init agree on (no imports: init bundles this). */

/** Directories that are mount points at run time: empty in the image, their contents not verified. */
export const MOUNT_POINTS = ['dev', 'proc', 'sys', 'run', 'tmp', 'var/cache'] as const;
/** Where init finds the root manifest inside the initramfs (under a mount point, so outside the tree it checks). */
export const ROOT_MANIFEST_PATH = 'run/zos/root.manifest';
export const INIT_PATH = 'usr/lib/zos/init.mjs';
/** The release label of the image. */
export const RELEASE_PATH = 'etc/zos-release';
/** The kernel travels inside the image, so one digest names a whole release. */
export const KERNEL_PATH = 'boot/vmlinuz';
/** The guest kernel directory of VMs inside the OS (ZOS_GUEST_KERNEL): the OS kernel, linked, and a built initramfs. */
export const VM_GUEST_KERNEL_DIR = 'usr/lib/zos/guest-kernel';
/** Tag of the OS root image in a store (the build's and, after an upgrade, the node's). */
export const OS_IMAGE_TAG = 'zos-os';
/** The A/B release slots on the cache disk (CACHE/os/<name>; os/upgrade/slots.ts). */
export const SLOT_NAMES = ['a', 'b'] as const;
export type SlotName = (typeof SLOT_NAMES)[number];
export const isSlotName = (s: string | undefined): s is SlotName => (SLOT_NAMES as readonly string[]).includes(s ?? '');
