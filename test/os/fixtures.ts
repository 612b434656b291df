import { mkdtemp } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOs, readBootInfo, type BootInfo } from '../../os/build.ts';
import { findGuestKernel } from '../../os/kernel.ts';

/** Whether this host can build the image: root (owners), the guest kernel, qemu. */
export async function osHostReason(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'needs root (the image records root-owned files)';
  try {
    await findGuestKernel();
  } catch (err) {
    return (err as Error).message;
  }
  if (!existsSync('/usr/bin/qemu-system-x86_64')) return 'qemu-system-x86_64 is not installed';
  return null;
}

/** One image per test file: $ZOS_OS_IMAGE when set (prebuilt), else a fresh build in a temp dir. */
export async function osImage(): Promise<{ dir: string; info: BootInfo }> {
  const pre = process.env.ZOS_OS_IMAGE;
  if (pre) return { dir: pre, info: await readBootInfo(pre) };
  const dir = await mkdtemp(join(tmpdir(), 'zos-os-'));
  await buildOs({ out: dir });
  return { dir, info: await readBootInfo(dir) };
}
