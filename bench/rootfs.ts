import { join } from 'node:path';
import { execa } from 'execa';

export const MIRROR = process.env.ZOS_BENCH_MIRROR ?? 'http://deb.debian.org/debian';
/** The packages v2 adds on top of v1: "a few packages" as a real upgrade would bring. */
export const EXTRA_PACKAGES = ['curl', 'less', 'procps', 'iproute2'];

export async function debootstrapAvailable(): Promise<boolean> {
  return (await execa('sh', ['-c', 'command -v debootstrap'], { reject: false })).exitCode === 0 && process.getuid?.() === 0;
}

/**
 * Two real root filesystem versions: v1 = debootstrap --variant=minbase bookworm, v2 = the same
 * plus EXTRA_PACKAGES (a shared --cache-dir keeps the second run from downloading twice).
 */
export async function rootfsVersions(work: string): Promise<{ a: string; b: string; note: string }> {
  const cache = join(work, 'debs');
  await execa('mkdir', ['-p', cache]);
  const a = join(work, 'v1');
  const b = join(work, 'v2');
  const boot = (dir: string, include: string[]) =>
    execa('debootstrap', ['--variant=minbase', `--cache-dir=${cache}`, ...(include.length ? [`--include=${include.join(',')}`] : []), 'bookworm', dir, MIRROR]);
  await boot(a, []);
  await boot(b, EXTRA_PACKAGES);
  return { a, b, note: `REAL: v1 = debootstrap --variant=minbase bookworm; v2 = v1 + ${EXTRA_PACKAGES.join(', ')}` };
}
