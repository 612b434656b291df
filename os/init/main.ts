import { readFile } from 'node:fs/promises';
import { createLogger } from '../../lib/log.ts';
import { parseSize, SIZE_HINT } from '../../lib/size.ts';
import { trimMallocPeriodically } from '../../lib/memory.ts';
import { execa } from 'execa';
import { INIT_PATH, RELEASE_PATH, VM_GUEST_KERNEL_DIR } from '../layout.ts';
import { parseBootConfig, type BootConfig } from './config.ts';
import { configureNetwork, keepLease, loadBootModules, mountCacheDisk, mountKernelFilesystems, sealRoot, CACHE_MOUNT, type Network } from './system.ts';
import { verifyRoot } from './verify.ts';
import { bootNewestSlot } from './slot-boot.ts';
import { run } from '../../node/host/exec.ts';
import { applyDaemonV8Settings, NODE_DAEMON_V8_FLAGS } from '../../node/daemon-v8.ts';
import { followReleases } from '../upgrade/follow.ts';
import { Slots } from '../upgrade/slots.ts';

/**
 * PID 1 of the OS image, run by the image's own node binary (no shell anywhere). Order matters:
 * the root is verified before any program runs or anything is mounted; then kernel file systems,
 * modules, the cache disk (and a newer release there, by kexec) and the network; then the node
 * daemon, this same file run again as PID 1's child (superviseDaemon).
 * Any failure before the daemon runs refuses the boot: a console line naming the cause, then
 * init exits, which panics the kernel (with panic=-1 the machine resets; QEMU -no-reboot stops).
 */
// Console times count from PID 1's start, in the daemon too (PID 1 hands it its start time).
const started = Number(process.env.ZOS_INIT_START_MS) || Date.now();
const slots = new Slots(`${CACHE_MOUNT}/os`);
/** In the daemon's environment: this process is the node daemon under tini, not PID 1. */
const STAGE = 'ZOS_INIT_STAGE';
const say = (s: string) => process.stdout.write(`zos: ${s} (+${Date.now() - started} ms)\n`);

async function boot(): Promise<{ cfg: BootConfig; net: Network }> {
  process.env.PATH = '/usr/sbin:/usr/bin';
  const cfg = parseBootConfig(process.env);
  const v = await verifyRoot(cfg.root);
  say(`root verified: blake3:${cfg.root}, ${v.files} files, ${v.bytes} bytes hashed`);
  await mountKernelFilesystems();
  if (!(await sealRoot())) say('warning: could not remount the root read-only');
  await loadBootModules();
  const cache = await mountCacheDisk(cfg.cache);
  say(`cache disk ${cache.device} ${cache.formatted ? 'formatted (blank disk: new node)' : 'reused'} at ${CACHE_MOUNT}`);
  await bootNewestSlot(cfg, slots, {
    say,
    unmountCache: () => run('umount', [CACHE_MOUNT]).then(() => undefined),
    remountCache: () => mountCacheDisk(cfg.cache).then(() => undefined),
  }).catch((err: Error) => say(`release slots: ${err.message}; the boot medium's release runs`));
  const net = await configureNetwork(cfg.net);
  say(`network ${net.link} ${net.address}${net.gateway ? ` via ${net.gateway}` : ''} (${cfg.net.mode})`);
  return { cfg, net };
}

/**
 * After boot, PID 1 runs the node daemon as its child under `tini -s`, a registered child
 * subreaper: whatever the daemon's programs leave behind when their parent exits is re-parented to
 * tini and reaped there. Node cannot reap processes it did not start (libuv waits only for its
 * own children), so as PID 1 it would collect zombies. PID 1 keeps the DHCP lease meanwhile; the
 * daemon's exit ends init, which panics the kernel (panic=-1 resets the machine), as before.
 */
async function superviseDaemon(net: Network): Promise<never> {
  const daemon = execa('tini', ['-s', '-g', '--', process.execPath, ...NODE_DAEMON_V8_FLAGS, `/${INIT_PATH}`], {
    stdio: 'inherit', reject: false, env: { [STAGE]: 'daemon', ZOS_INIT_START_MS: String(started) },
  });
  if (net.dhcp) void keepLease(net.link, net.dhcp.mac, net.dhcp.lease, say);
  const r = await daemon;
  say(`node daemon exited (${r.signal ?? `exit ${r.exitCode}`})`);
  process.exit(1);
}

async function runNode(cfg: BootConfig): Promise<void> {
  const release = (await readFile(`/${RELEASE_PATH}`, 'utf8')).trim();
  say(`release ${release}`);
  const log = createLogger({ name: 'zos-node', level: cfg.logLevel, pretty: false });
  const poolSize = parseSize(cfg.poolSize);
  if (poolSize === null) throw new Error(`zos_pool_size: ${SIZE_HINT}, got ${JSON.stringify(cfg.poolSize)}`);
  // VMs boot the OS's own kernel with the guest initramfs the image carries (os/stage.ts).
  process.env.ZOS_GUEST_KERNEL = `/${VM_GUEST_KERNEL_DIR}`;
  applyDaemonV8Settings();
  const { ZosNode } = await import('../../node/node.ts');
  const dataDir = `${CACHE_MOUNT}/zos`;
  const node = new ZosNode({
    chainUrls: cfg.chain, relayUrls: cfg.relay, farmId: cfg.farm, dataDir, activationUrl: cfg.activation,
    storage: { pools: [{ name: 'default', type: 'ssd', image: { size: poolSize } }] },
    version: release, log,
  });
  const { nodeId, twinId } = await node.start();
  process.stdout.write(`ready node ${nodeId} twin ${twinId}\n`);
  trimMallocPeriodically();
  if (cfg.slot) {
    await slots.update(cfg.slot, (r) => ({ ...r, attempts: 0, confirmed: true }));
    say(`release ${release} confirmed in slot ${cfg.slot}`);
  }
  if (cfg.hub) {
    // The node's image directory (node/host/index.ts): releases share its chunk store with workloads.
    void followReleases({
      zosVersion: () => node.chain.query.zosVersion(), hub: cfg.hub, imagesDir: `${dataDir}/images`, slots,
      running: { digest: cfg.root, release, ...(cfg.slot ? { slot: cfg.slot } : {}) }, everyMs: cfg.releaseCheckS * 1000, say,
    }).catch((err: Error) => say(`release checks stopped: ${err.message}`));
  } else say('no zos_hub on the kernel command line: releases named on chain are not followed');
  // One figure for people and bench/os.ts: the whole OS's memory in use once the node has settled.
  setTimeout(() => void memoryUsed().then((m) => say(`memory used ${m.used} MiB (idle, 10 s after ready; ${m.parts})`)), 10_000).unref();
}

/**
 * The whole OS's memory in use (MemTotal - MemAvailable), and what holds it: the root's files
 * (the initramfs stays in RAM as the root), the processes' own memory (the node daemon's RSS
 * apart), the page cache and the kernel's own.
 */
async function memoryUsed(): Promise<{ used: number; parts: string }> {
  const [info, self] = await Promise.all([readFile('/proc/meminfo', 'utf8'), readFile('/proc/self/status', 'utf8')]);
  const kb = (k: string, text = info) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  const mib = (k: number) => Math.round(k / 1024);
  const parts = {
    'Shmem (tmpfs: root, /run, /tmp)': kb('Shmem'), 'Unevictable': kb('Unevictable'), 'AnonPages (processes)': kb('AnonPages'), 'node daemon RSS': kb('VmRSS', self),
    'Cached (incl. Shmem)': kb('Cached'), 'Buffers': kb('Buffers'), 'Slab': kb('Slab'), 'KernelStack': kb('KernelStack'), 'PageTables': kb('PageTables'), 'Percpu': kb('Percpu'),
  };
  return { used: mib(kb('MemTotal') - kb('MemAvailable')), parts: Object.entries(parts).map(([k, v]) => `${k} ${mib(v)}`).join(', ') + ' MiB' };
}

if (process.env[STAGE] === 'daemon') {
  await runNode(parseBootConfig(process.env)).catch((err: Error) => {
    process.stdout.write(`zos: node daemon failed: ${err.stack ?? err.message}\n`);
    process.exit(1);
  });
} else {
  const { net } = await boot().catch((err: Error) => {
    process.stdout.write(`zos: boot refused: ${err.message}\n`);
    process.exit(1);
  });
  await superviseDaemon(net);
}
