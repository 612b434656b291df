/**
 * PCI devices from sysfs attribute files and names from pci.ids: pure, no I/O. The GPU rule is
 * zos' (zosbase pkg/capacity/pci.go): display class 0x030000, an AMD or NVIDIA vendor, and not on
 * bus 0000:00 (integrated GPUs).
 */

export interface PciDevice {
  slot: string;
  class: number;
  vendor: number;
  device: number;
  subsystemVendor: number;
  subsystemDevice: number;
}

export type PciAttr = 'class' | 'vendor' | 'device' | 'subsystem_vendor' | 'subsystem_device';
export const PCI_ATTRS: readonly PciAttr[] = ['class', 'vendor', 'device', 'subsystem_vendor', 'subsystem_device'];

const hex = (slot: string, name: string, text: string, max: number): number => {
  const t = text.trim().replace(/^0x/, '');
  const v = /^[0-9a-fA-F]+$/.test(t) ? Number.parseInt(t, 16) : Number.NaN;
  if (!(v >= 0 && v <= max)) throw new Error(`failed to get device '${slot}' ${name}: invalid value '${text.trim()}'`);
  return v;
};

export function parsePciDevice(slot: string, attrs: Record<PciAttr, string>): PciDevice {
  return {
    slot,
    class: hex(slot, 'class', attrs.class, 0xffffffff),
    vendor: hex(slot, 'vendor', attrs.vendor, 0xffff),
    device: hex(slot, 'device', attrs.device, 0xffff),
    subsystemVendor: hex(slot, 'subsystem vendor', attrs.subsystem_vendor, 0xffff),
    subsystemDevice: hex(slot, 'subsystem device', attrs.subsystem_device, 0xffff),
  };
}

const GPU_VENDORS = [0x1002 /* AMD */, 0x10de /* NVIDIA */];

export function isGpu(d: PciDevice): boolean {
  return d.class === 0x030000 && GPU_VENDORS.includes(d.vendor) && !d.slot.startsWith('0000:00:');
}

const h4 = (n: number) => n.toString(16).padStart(4, '0');

/** `slot/vendor/device`, the id zos uses for a GPU (and a zmachine's `gpu` entries). */
export function pciShortId(d: PciDevice): string {
  return `${d.slot}/${h4(d.vendor)}/${h4(d.device)}`;
}

/**
 * Vendor and device names from pci.ids text; the subsystem name wins over the device name, as zos
 * does. Unknown ids read "unknown".
 */
export function pciNames(ids: string, d: PciDevice): { vendor: string; device: string } {
  const out = { vendor: 'unknown', device: 'unknown' };
  const vendor = h4(d.vendor);
  const device = h4(d.device);
  const sub = `${h4(d.subsystemVendor)} ${h4(d.subsystemDevice)}`;
  let inVendor = false;
  let inDevice = false;
  let found = false;
  for (const line of ids.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    if (!line.startsWith('\t')) {
      if (inVendor) break;
      // The device classes section ("C xx") ends the vendor list.
      if (line.startsWith('C ')) break;
      if (line.startsWith(`${vendor} `)) {
        inVendor = true;
        out.vendor = line.slice(5).trim();
      }
      continue;
    }
    if (!inVendor) continue;
    if (!line.startsWith('\t\t')) {
      inDevice = line.startsWith(`\t${device} `);
      if (inDevice) {
        found = true;
        out.device = line.slice(6).trim();
      }
    } else if (inDevice && line.startsWith(`\t\t${sub} `)) {
      out.device = line.slice(2 + sub.length).trim();
    }
  }
  // zos names the vendor only when it knows the device too.
  return found ? out : { vendor: 'unknown', device: 'unknown' };
}

const IORESOURCE_MEM = 0x200n;

/**
 * The largest memory BAR of a device in MiB, from sysfs `resource` ("start end flags" a line):
 * the figure zos reports as a GPU's vram (it reads the same ranges from lshw).
 */
export function largestMemoryBarMiB(resource: string): number {
  let max = 0n;
  for (const line of resource.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 3) continue;
    const [start, end, flags] = f.map((x) => BigInt(x)) as [bigint, bigint, bigint];
    if ((flags & IORESOURCE_MEM) === 0n || end <= start) continue;
    const size = (end - start + 1n) / (1024n * 1024n);
    if (size > max) max = size;
  }
  return Number(max);
}
