/**
 * The OS image (issue 13):
 *  1. size: the image's files, its initramfs, its chunk bytes in an empty store, and the new chunk
 *     bytes when built into a store that already holds the workload base image (`zos image base`);
 *  2. boot to `ready node N twin T` under QEMU TCG with a blank cache disk against a local devnet
 *     and relay (baseline: the same node code as a `zos node` process on this host, same grid);
 *  3. idle memory of the whole OS (MemTotal - MemAvailable in the guest, 10 s after ready;
 *     baseline: that host process's RSS).
 * The last line holds the figures against the goals, PASS/MISS beside each.
 * Usage: node --import tsx bench/os.ts   (root; the guest kernel installed by .ci/setup)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildBaseRoot } from '../image/base.ts';
import { buildImage } from '../image/build.ts';
import { DirStore } from '../image/store/dir-store.ts';
import { buildOs } from '../os/build.ts';
import { bootOs, GUEST_HOST } from '../os/run.ts';
import { startGrid } from '../test/helpers/grid.ts';
import { readFile } from 'node:fs/promises';

const MiB = 2 ** 20;
const mb = (n: number) => (n / MiB).toFixed(1);
const work = await mkdtemp(join(tmpdir(), 'zos-bench-os-'));
const grid = await startGrid({ extraRelayDomains: [GUEST_HOST] });
try {
  // 1. sizes: alone, then into a store holding the base image
  const alone = await buildOs({ out: join(work, 'alone') });
  const shared = join(work, 'shared-store');
  const baseRoot = join(work, 'base-root');
  await buildBaseRoot(baseRoot);
  const store = await DirStore.open(shared);
  const base = await buildImage(baseRoot, { store, tag: 'base', xattrs: 'skip' });
  await store.close();
  const withBase = await buildOs({ out: join(work, 'with-base'), store: shared });
  console.log(`image: ${alone.files} files, ${mb(alone.bytes)} MiB; initramfs ${mb(alone.initrdBytes)} MiB; chunks in an empty store ${mb(alone.newChunkBytes)} MiB`);
  console.log(`store with the base image (${mb(base.bytes)} MiB of files, ${mb(base.newChunkBytes)} MiB of chunks): the OS adds ${mb(withBase.newChunkBytes)} MiB (${mb(alone.newChunkBytes - withBase.newChunkBytes)} MiB shared)`);

  // 2 + 3, baseline: the node as a host process on the same grid
  const t0 = performance.now();
  const hostNode = await grid.startNode();
  const hostReadyMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 10_000));
  const hostRss = Number(/VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${hostNode.pid}/status`, 'utf8'))![1]) * 1024;
  await hostNode.kill();
  console.log(`baseline zos node process: ready in ${hostReadyMs.toFixed(0)} ms, RSS ${mb(hostRss)} MiB idle`);

  const t1 = performance.now();
  const vm = await bootOs({ image: join(work, 'alone'), farm: grid.farmId, chain: [grid.chainUrl], relay: [grid.relayUrl], activation: grid.activationUrl, cacheDisk: join(work, 'cache.raw') });
  try {
    await vm.ready;
    const bootMs = performance.now() - t1;
    const verify = /root verified: .* \(\+(\d+) ms\)/.exec(vm.console());
    const mem = Number((await vm.waitFor(/memory used (\d+) MiB/, 120_000))[1]) * MiB;
    console.log(`OS: ready in ${(bootMs / 1000).toFixed(1)} s (init verified the root at +${verify?.[1] ?? '?'} ms), idle memory ${mb(mem)} MiB`);
    const mark = (ok: boolean) => (ok ? 'PASS' : 'MISS');
    const sharedMiB = (alone.newChunkBytes - withBase.newChunkBytes) / MiB;
    console.log(
      `RESULT os: image ${mb(alone.bytes)} MiB (goal <= 256) ${mark(alone.bytes <= 256 * MiB)} | shared with base ${sharedMiB.toFixed(1)} MiB (goal > 0) ${mark(sharedMiB > 0)} | boot->ready ${(bootMs / 1000).toFixed(1)} s = ${(bootMs / hostReadyMs).toFixed(1)}x host process (goal <= 90 s) ${mark(bootMs <= 90_000)} | idle memory ${mb(mem)} MiB = ${(mem / hostRss).toFixed(1)}x host RSS (goal <= 768 MiB) ${mark(mem <= 768 * MiB)}`,
    );
  } finally {
    await vm.stop();
  }
} finally {
  await grid.close();
  await rm(work, { recursive: true, force: true });
}
