import { readdir, readFile, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { run, runResult } from '../../node/host/exec.ts';
import { ensureFilesystem, mountPool, mountAt } from '../../node/host/storage/attach.ts';
import { BOOT_MODULES } from '../modules.ts';
import type { NetConfig } from './config.ts';
import { dhcpLease, leaseTimes, renewLease, type Lease } from './dhcp.ts';

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

export interface Network {
  link: string;
  address: string;
  gateway?: string;
  /** DHCP: the lease to keep renewing (keepLease). */
  dhcp?: { mac: Buffer; lease: Lease };
}

/** Where the name servers go (the image's etc/resolv.conf links here). */
const RESOLV_CONF = '/run/resolv.conf';

/** Brings up lo and the first ethernet link, then DHCP or the static address; writes /run/resolv.conf. */
export async function configureNetwork(net: NetConfig, resolvConf = RESOLV_CONF): Promise<Network> {
  await run('ip', ['link', 'set', 'lo', 'up']);
  const link = await waitFor('a network interface', async () => (await readdir('/sys/class/net')).filter((n) => n !== 'lo').sort()[0]);
  await run('ip', ['link', 'set', link, 'up']);
  if (net.mode === 'static') {
    await applyAddress(link, net, resolvConf);
    return { link, address: `${net.address}/${net.prefix}`, gateway: net.gateway };
  }
  const mac = Buffer.from((await readFile(`/sys/class/net/${link}/address`, 'utf8')).trim().split(':').map((h) => Number.parseInt(h, 16)));
  const lease = await discover(link, mac);
  await applyAddress(link, lease, resolvConf);
  return { link, address: `${lease.address}/${lease.prefix}`, gateway: lease.router, dhcp: { mac, lease } };
}

/** A new lease from scratch (no address on the link yet). */
async function discover(link: string, mac: Buffer): Promise<Lease> {
  // Without an address the kernel has no route for the limited broadcast the exchange uses.
  await run('ip', ['route', 'replace', '255.255.255.255/32', 'dev', link]);
  try {
    return await dhcpLease(mac);
  } finally {
    await run('ip', ['route', 'del', '255.255.255.255/32', 'dev', link]).catch(() => undefined);
  }
}

async function applyAddress(link: string, a: { address: string; prefix: number; gateway?: string; router?: string; dns: string[] }, resolvConf: string): Promise<void> {
  await run('ip', ['addr', 'replace', `${a.address}/${a.prefix}`, 'dev', link]);
  const gateway = a.gateway ?? a.router;
  if (gateway) await run('ip', ['route', 'replace', 'default', 'via', gateway, 'dev', link]);
  await writeFile(resolvConf, a.dns.map((d) => `nameserver ${d}\n`).join(''));
}

/**
 * Keeps a DHCP lease for as long as the OS runs (RFC 2131 4.4.5): renews with its server at T1,
 * asks any server from T2, and when the lease is refused (NAK) or runs out, drops the address and
 * starts over. A renewal that moves the address or gateway is applied at once.
 */
export async function keepLease(link: string, mac: Buffer, first: Lease, say: (s: string) => void, resolvConf = RESOLV_CONF): Promise<never> {
  let lease = first;
  let t0 = Date.now();
  for (;;) {
    const t = leaseTimes(t0, lease.leaseSeconds);
    await sleepUntil(t.renew);
    let next: Lease | null | undefined;
    while (next === undefined && Date.now() < t.expire) {
      next = await renewLease(mac, lease, { broadcast: Date.now() >= t.rebind }).catch(() => undefined);
      // RFC 2131: retry after half the time left to T2 (then to expiry), at least 60 s.
      if (next === undefined) await sleep(Math.max(60_000, ((Date.now() < t.rebind ? t.rebind : t.expire) - Date.now()) / 2));
    }
    if (!next) {
      say(`DHCP lease of ${lease.address} ${next === null ? 'refused by the server' : 'expired'}: asking for a new one`);
      await run('ip', ['addr', 'del', `${lease.address}/${lease.prefix}`, 'dev', link]).catch(() => undefined);
      next = await retryForever(() => discover(link, mac));
    }
    const moved = next.address !== lease.address || next.prefix !== lease.prefix;
    if (moved) await run('ip', ['addr', 'del', `${lease.address}/${lease.prefix}`, 'dev', link]).catch(() => undefined);
    await applyAddress(link, next, resolvConf);
    if (moved) say(`DHCP: address ${lease.address}/${lease.prefix} is now ${next.address}/${next.prefix}`);
    lease = next;
    t0 = Date.now();
  }
}

async function sleepUntil(at: number): Promise<void> {
  // setTimeout holds at most 2^31-1 ms (~24.8 days): long leases sleep in steps.
  while (Date.now() < at) await sleep(Math.min(at - Date.now(), 2 ** 31 - 1));
}

async function retryForever<T>(fn: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await fn();
    } catch {
      await sleep(10_000);
    }
  }
}
