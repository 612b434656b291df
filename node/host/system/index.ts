/**
 * The host's own facts for the zos API and the registration: DMI, hypervisor, secure boot,
 * interfaces, PCI GPUs, TCP connections, zinit. Each reader does the I/O and hands the text to a
 * pure parser beside it. A fact the host can't give fails with the error text zos itself would
 * answer (Go's exec errors: `exit status N`, `exec: "X": executable file not found in $PATH`).
 */
import { access, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runResult, HostCommandError } from '../exec.ts';
import { boardSerial, parseDmidecode, type Dmi } from './dmi.ts';
import { countEstablished, defaultRouteInterface, linkAddresses, parseIpAddrJson, type HostLink } from './links.ts';
import { isGpu, largestMemoryBarMiB, parsePciDevice, pciNames, PCI_ATTRS, type PciAttr, type PciDevice } from './pci.ts';
import { parseDetectVirt, parseSecureBootVar, parseVirtWhat } from './virt.ts';

export interface SystemPaths {
  sys: string;
  proc: string;
  pciIds: string;
}

const DEFAULT_PATHS: SystemPaths = { sys: '/sys', proc: '/proc', pciIds: '/usr/share/misc/pci.ids' };

/** Runs a tool; stdout on exit 0, else Go's exec error text (what zos puts on the wire). */
export async function goExec(cmd: string, args: readonly string[] = []): Promise<string> {
  let res;
  try {
    res = await runResult(cmd, args, { timeoutMs: 30_000 });
  } catch (err) {
    const cause = err instanceof HostCommandError ? (err.cause as { code?: string } | undefined) : undefined;
    if (cause?.code === 'ENOENT') throw new Error(`exec: "${cmd}": executable file not found in $PATH`);
    throw err;
  }
  if (res.exitCode !== 0) throw new Error(`exit status ${res.exitCode}`);
  return res.stdout;
}

const SECURE_BOOT_VAR = 'SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c';

export interface GpuInfo extends PciDevice {
  vendorName: string;
  deviceName: string;
  /** MiB: the largest memory BAR. */
  vram: number;
}

export class HostSystem {
  private readonly paths: SystemPaths;

  constructor(paths: Partial<SystemPaths> = {}) {
    this.paths = { ...DEFAULT_PATHS, ...paths };
  }

  /** `dmidecode` parsed; fails with zos' text where the host has no DMI (containers, some VMs). */
  async dmi(): Promise<Dmi> {
    return parseDmidecode(await goExec('dmidecode'));
  }

  /** The board serial from DMI; null where the host has no DMI or the board has no serial. */
  async serial(): Promise<string | null> {
    return this.dmi().then(boardSerial, () => null);
  }

  /**
   * The outermost hypervisor ("" on bare metal), by virt-what as zos asks it; systemd-detect-virt
   * where virt-what is not installed. zos' error text when neither can tell.
   */
  async hypervisor(): Promise<string> {
    try {
      return parseVirtWhat(await goExec('virt-what'));
    } catch (err) {
      if (!(err as Error).message.startsWith('exec: ')) throw new Error(`could not detect if VM or not: ${(err as Error).message}`);
    }
    const res = await runResult('systemd-detect-virt', []).catch(() => null);
    if (!res) throw new Error('could not detect if VM or not: exec: "virt-what": executable file not found in $PATH');
    return parseDetectVirt(res.stdout);
  }

  /** Off when the host did not boot by UEFI or has no SecureBoot variable, as zos decides. */
  async secureBoot(): Promise<boolean> {
    const dir = join(this.paths.sys, 'firmware/efi/efivars');
    const bytes = await readFile(join(dir, SECURE_BOOT_VAR)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw new Error(`failed to read secure boot status: ${err.message}`);
    });
    return bytes ? parseSecureBootVar(bytes) : false;
  }

  /** Every link of the node's network namespace with its addresses. */
  async links(): Promise<HostLink[]> {
    return parseIpAddrJson(await goExec('ip', ['-j', '-d', 'addr', 'show']));
  }

  /** Link names inside a named network namespace; null when there is no such namespace. */
  async namespaceLinks(ns: string): Promise<string[] | null> {
    if (!/^[A-Za-z0-9_.-]+$/.test(ns)) return null;
    if (!(await access(join('/run/netns', ns)).then(() => true, () => false))) return null;
    return parseIpAddrJson(await goExec('ip', ['-n', ns, '-j', 'link', 'show'])).map((l) => l.name);
  }

  /** Interfaces enslaved to a bridge of the node's namespace; null when there is no such bridge. */
  async bridgeMembers(bridge: string): Promise<string[] | null> {
    if (!/^[A-Za-z0-9_.-]+$/.test(bridge)) return null;
    return readdir(join(this.paths.sys, 'class/net', bridge, 'brif')).catch(() => null);
  }

  /** The interface the node reaches the grid through (IPv4 default route): zos' "zos" interface. */
  async uplink(): Promise<string | null> {
    return defaultRouteInterface(await readFile(join(this.paths.proc, 'net/route'), 'utf8').catch(() => ''));
  }

  /**
   * The "zos" interface zos registers on chain: the uplink's MAC and global addresses (the same
   * fact `zos.network.interfaces` answers); none when the node has no default route.
   */
  async zosInterfaces(): Promise<Array<{ name: string; mac: string; ips: string[] }>> {
    const uplink = await this.uplink();
    if (!uplink) return [];
    const links = await this.links();
    const ips = linkAddresses(links, uplink);
    const mac = links.find((l) => l.name === uplink)?.mac ?? '';
    // tfchain keeps at most 10 IPs an interface.
    return ips ? [{ name: 'zos', mac, ips: ips.slice(0, 10) }] : [];
  }

  /** Established TCP connections (IPv4 and IPv6), as zos counts them. */
  async openConnections(): Promise<number> {
    const read = (f: string) => readFile(join(this.paths.proc, 'net', f), 'utf8').catch(() => '');
    return countEstablished(await read('tcp')) + countEstablished(await read('tcp6'));
  }

  /**
   * What zos registers about the machine: secure boot from EFI variables, virtualized when a
   * hypervisor is detected, the board serial from DMI (null where the host has none).
   */
  async registrationFacts(): Promise<{ secureBoot: boolean; virtualized: boolean; serialNumber: string | null }> {
    const [secureBoot, hypervisor, serialNumber] = await Promise.all([this.secureBoot(), this.hypervisor(), this.serial()]);
    return { secureBoot, virtualized: hypervisor !== '', serialNumber };
  }

  /** `zinit -V` the way zos reports it: the version, or the exec error text where there is no zinit. */
  async zinitVersion(): Promise<string> {
    return goExec('zinit', ['-V']).then(
      (out) => out.replace(/^zinit/, '').trim(),
      (err: Error) => err.message,
    );
  }

  /** Discrete AMD/NVIDIA GPUs on the PCI bus with their pci.ids names. */
  async gpus(): Promise<GpuInfo[]> {
    const dir = join(this.paths.sys, 'bus/pci/devices');
    const slots = await readdir(dir).catch((err: Error) => {
      throw new Error(`failed to read sys pci devices: ${err.message}`);
    });
    const gpus: PciDevice[] = [];
    for (const slot of slots.sort()) {
      const attrs = {} as Record<PciAttr, string>;
      for (const a of PCI_ATTRS) attrs[a] = await readFile(join(dir, slot, a), 'utf8');
      const dev = parsePciDevice(slot, attrs);
      if (isGpu(dev)) gpus.push(dev);
    }
    if (!gpus.length) return [];
    const ids = await readFile(this.paths.pciIds, 'utf8').catch(() => '');
    return Promise.all(
      gpus.map(async (g) => {
        const n = pciNames(ids, g);
        const vram = largestMemoryBarMiB(await readFile(join(dir, g.slot, 'resource'), 'utf8').catch(() => ''));
        return { ...g, vendorName: n.vendor, deviceName: n.device, vram };
      }),
    );
  }
}
