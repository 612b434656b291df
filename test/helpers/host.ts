import type { TestContext } from 'node:test';

/**
 * Skip a test that needs a host feature, loudly; under CI=true a missing feature is a failure,
 * so CI cannot go green by skipping. Returns true when the test may proceed.
 */
export function requireHost(t: TestContext, ok: boolean, reason: string): boolean {
  if (ok) return true;
  if (process.env.CI === 'true') throw new Error(`host feature missing in CI: ${reason}`);
  console.warn(`SKIP ${t.name}: ${reason}`);
  t.skip(reason);
  return false;
}

/**
 * Unmounts everything mounted under `dir` (deepest first) and detaches loop devices backed by
 * files under it: what a node left behind when it was killed or kept its pools mounted.
 */
export async function cleanupHostState(dir: string): Promise<void> {
  const { readFile } = await import('node:fs/promises');
  const { execa } = await import('execa');
  const mounts = (await readFile('/proc/mounts', 'utf8'))
    .split('\n')
    .map((l) => l.split(' ')[1]?.replace(/\\040/g, ' '))
    .filter((m): m is string => !!m && (m === dir || m.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await execa('umount', ['-l', m], { reject: false });
  const loops = await execa('losetup', ['-a', '-O', 'NAME,BACK-FILE', '-n'], { reject: false });
  for (const line of String(loops.stdout ?? '').split('\n')) {
    const [dev, file] = line.trim().split(/\s+/);
    if (dev && file && file.startsWith(`${dir}/`)) await execa('losetup', ['-d', dev], { reject: false });
  }
}
