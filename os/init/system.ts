import { readdir, readFile, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { run, runResult } from '../../node/host/exec.ts';
import { ensureFilesystem, mountPool, mountAt } from '../../node/host/storage/attach.ts';
import { BOOT_MODULES } from '../modules.ts';
import type { NetConfig } from './config.ts';
import { dhcpLease } from './dhcp.ts';

/** What init sets up after the root is verified: kernel file systems, modules, cache disk, network. */

export const CACHE_MOUNT = '/var/cache';
export const CACHE_LABEL = 'zos-cache';

export async function mountKernelFilesystems(): Promise<void> {
  await run('mount', ['-t', 'proc', '-o', 'nosuid,nodev,noexec', 'proc', '/proc']);
  await run('mount', ['-t', 'sysfs', '-o', 'nosuid,nodev,noexec', 'sys', '/sys']);
  await run('mount', ['-t', 'devtmpfs', '-o', 'nosuid', 'dev', '/dev']);
  await run('mount', ['-t', 'tmpfs', '-o', 'nosuid,nodev,mode=755', 'run', '/run']);
  await run('mount', ['-t', 'tmpfs', '-o', 'nosuid,nodev,mode=1777', 'tmp', '/tmp']);
  await run('mount', ['-t', 'cgroup2', 'cgroup2', '/sys/fs/cgroup']);
}

/** The verified root stays read-only from here on; writable state lives on tmpfs and the cache disk. */
export async function sealRoot(): Promise<boolean> {
  return (await runResult('mount', ['-o', 'remount,ro', '/'])).exitCode === 0;
}

export async function loadBootModules(): Promise<void> {
  await run('modprobe', ['-a', ...BOOT_MODULES]);
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`${what} did not appear within ${ms} ms`);
    await sleep(50);
  }
}

/**
 * The cache disk: the configured device or the first virtio disk. Blank: formatted btrfs with our
 * label; ours: reused as is; anything else: refused, so a disk holding someone's data is never wiped.
 */
export async function mountCacheDisk(device: string | undefined): Promise<{ device: string; formatted: boolean }> {
  const dev = await waitFor('a cache disk (virtio)', async () => {
    if (device) return (await readFile(`/sys/class/block/${device.replace('/dev/', '')}/size`).catch(() => undefined)) ? device : undefined;
    const vd = (await readdir('/sys/block')).filter((n) => /^vd[a-z]+$/.test(n)).sort()[0];
    return vd ? `/dev/${vd}` : undefined;
  });
  const formatted = await ensureFilesystem([dev], CACHE_LABEL, false, {});
  if (!(await mountAt(CACHE_MOUNT))) await mountPool([dev], CACHE_MOUNT, {});
  return { device: dev, formatted };
}

/** Brings up lo and the first ethernet link, then DHCP or the static address; writes /run/resolv.conf. */
export async function configureNetwork(net: NetConfig): Promise<{ link: string; address: string; gateway?: string }> {
  await run('ip', ['link', 'set', 'lo', 'up']);
  const link = await waitFor('a network interface', async () => (await readdir('/sys/class/net')).filter((n) => n !== 'lo').sort()[0]);
  await run('ip', ['link', 'set', link, 'up']);
  let address: string;
  let prefix: number;
  let gateway: string | undefined;
  let dns: string[];
  if (net.mode === 'dhcp') {
    const mac = Buffer.from((await readFile(`/sys/class/net/${link}/address`, 'utf8')).trim().split(':').map((h) => Number.parseInt(h, 16)));
    // Without an address the kernel has no route for the limited broadcast the exchange uses.
    await run('ip', ['route', 'add', '255.255.255.255/32', 'dev', link]);
    try {
      const lease = await dhcpLease(mac);
      ({ address, prefix, router: gateway, dns } = lease);
    } finally {
      await run('ip', ['route', 'del', '255.255.255.255/32', 'dev', link]).catch(() => undefined);
    }
  } else {
    ({ address, prefix, gateway, dns } = net);
  }
  await run('ip', ['addr', 'add', `${address}/${prefix}`, 'dev', link]);
  if (gateway) await run('ip', ['route', 'add', 'default', 'via', gateway, 'dev', link]);
  await writeFile('/run/resolv.conf', dns.map((d) => `nameserver ${d}\n`).join(''));
  return { link, address: `${address}/${prefix}`, gateway };
}
