import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { CliError, CliErrorCode } from './errors.ts';
import { join } from 'node:path';
import { silentLogger } from '../../lib/log.ts';
import { stopHaproxy } from '../../node/host/gateway/index.ts';
import { removeStoredNetworks, removeStoredPublic } from '../../node/host/network/index.ts';
import { stopStoredVms } from '../../node/host/vm/host.ts';

/**
 * Host state a `zos node` leaves behind on purpose: on SIGTERM it keeps its pools mounted so a
 * restart is quick. Whoever stops a node for good (zos up, test grids) calls cleanupHostState.
 */

/** Mount points under `dir` (and `dir` itself), deepest first. */
export async function mountsUnder(dir: string): Promise<string[]> {
  return (await readFile('/proc/mounts', 'utf8'))
    .split('\n')
    .map((l) => l.split(' ')[1]?.replace(/\\040/g, ' '))
    .filter((m): m is string => !!m && (m === dir || m.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
}

/** Loop devices whose backing file lives under `dir`. */
export async function loopDevicesUnder(dir: string): Promise<Array<{ device: string; file: string }>> {
  const loops = await execa('losetup', ['-a', '-O', 'NAME,BACK-FILE', '-n'], { reject: false });
  const out: Array<{ device: string; file: string }> = [];
  for (const line of String(loops.stdout ?? '').split('\n')) {
    const [device, file] = line.trim().split(/\s+/);
    if (device && file && file.startsWith(`${dir}/`)) out.push({ device, file });
  }
  return out;
}

/**
 * Stops the VMs and the gateway's haproxy and removes the network resources of a node whose
 * data dir is `dir` (VMs, haproxy, namespaces and wireguard-go processes outlive the node), unmounts everything mounted under `dir` (deepest
 * first) and detaches loop devices backed by files under it: what a node left behind when it
 * was killed or kept its pools mounted.
 */
export async function cleanupHostState(dir: string): Promise<void> {
  // VMs first: their QEMU and virtiofsd outlive the node and hold taps and the root overlays.
  await stopStoredVms(join(dir, 'vms'), silentLogger()).catch(() => undefined);
  await stopHaproxy(join(dir, 'gateway')).catch(() => undefined);
  await removeStoredNetworks(join(dir, 'network'), silentLogger()).catch(() => undefined);
  await removeStoredPublic(join(dir, 'network'), silentLogger()).catch(() => undefined);
  // Loop devices before mounts: once the pools' parent (a bind mount, see sharePoolsDir) is lazily
  // unmounted, a device's backing file no longer shows under `dir` and would be missed. A device
  // still in use is detached by the kernel when its filesystem's last mount goes.
  for (const { device } of await loopDevicesUnder(dir)) await execa('losetup', ['-d', device], { reject: false });
  for (const m of await mountsUnder(dir)) await execa('umount', ['-l', m], { reject: false });
}

/** The host tools a local `zos node` needs, and the package that brings each. */
const TOOLS = [
  { bin: 'btrfs', pkg: 'btrfs-progs' },
  { bin: 'mkfs.btrfs', pkg: 'btrfs-progs' },
  { bin: 'losetup', pkg: 'util-linux' },
  { bin: 'mount', pkg: 'mount' },
  { bin: 'umount', pkg: 'mount' },
  // The sample VM on its private network.
  { bin: 'wg', pkg: 'wireguard-tools' },
  { bin: 'wireguard-go', pkg: 'wireguard-go' },
  { bin: 'qemu-system-x86_64', pkg: 'qemu-system-x86' },
] as const;

/** What is missing on this host to run nodes: empty when everything is there. */
export async function missingHostRequirements(): Promise<{ root: boolean; tools: Array<{ bin: string; pkg: string }> }> {
  const tools: Array<{ bin: string; pkg: string }> = [];
  for (const t of TOOLS) {
    const r = await execa('sh', ['-c', `command -v ${t.bin}`], { reject: false });
    if (r.exitCode !== 0) tools.push(t);
  }
  return { root: process.getuid?.() === 0, tools };
}

/** Throws a CliError naming what to install / how to run when the host cannot run nodes. */
export async function assertHostCanRunNodes(): Promise<void> {
  const { root, tools } = await missingHostRequirements();
  const problems: string[] = [];
  const steps: string[] = [];
  if (tools.length) {
    problems.push(`missing host tools: ${tools.map((t) => t.bin).join(', ')}`);
    steps.push(`apt-get install ${[...new Set(tools.map((t) => t.pkg))].join(' ')}`);
  }
  if (!root) {
    problems.push('not running as root (nodes put their storage pool on btrfs over a loop device)');
    steps.push('run as root, e.g. sudo -E zos up');
  }
  if (problems.length) throw new CliError(CliErrorCode.hostMissing, problems.join('; '), steps.join(', then '));
}
