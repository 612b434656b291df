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

// The cleanup logic is runtime code (zos up uses it); tests keep importing it from here.
export { cleanupHostState, loopDevicesUnder, mountsUnder } from '../../bin/grid/cleanup.ts';
