import type { TestContext } from 'node:test';

/**
 * Skip a test that needs a host feature, loudly; under CI=true or ZOS_REQUIRE_HOST=1 (which
 * `npm test` sets unless given ZOS_REQUIRE_HOST=0) a missing feature is a failure, so neither CI
 * nor a full local run can go green by skipping. Returns true when the test may proceed.
 */
export function hostFeaturesRequired(): boolean {
  return process.env.CI === 'true' || process.env.ZOS_REQUIRE_HOST === '1';
}

export function requireHost(t: TestContext, ok: boolean, reason: string): boolean {
  if (ok) return true;
  if (hostFeaturesRequired()) throw new Error(`host feature missing: ${reason}`);
  console.warn(`SKIP ${t.name}: ${reason}`);
  t.skip(reason);
  return false;
}

// The cleanup logic is runtime code (zos up uses it); tests keep importing it from here.
export { cleanupHostState, loopDevicesUnder, mountsUnder } from '../../bin/grid/cleanup.ts';
