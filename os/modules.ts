import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

/**
 * Kernel modules for the OS image, from the Debian cloud kernel's module tree. The package
 * ships no modules.dep (depmod runs at install), so dependencies come from each module's
 * .modinfo `depends=` field, and the build runs depmod on the image's own copy.
 */

/** Loaded by init, in this order, before it touches the cache disk and the network. */
export const BOOT_MODULES = ['virtio_pci', 'virtio_blk', 'virtio_net', 'btrfs', 'loop'] as const;

/**
 * Shipped for the kernel to load on demand through /sbin/modprobe and modules.alias (overlay and
 * squashfs mounts, /dev/net/tun, `ip link add type veth|bridge|...`, nft expressions, VM acceleration).
 */
export const ON_DEMAND_MODULES = [
  'virtio_console', 'overlay', 'squashfs', 'fuse', 'virtiofs', 'tun', 'veth', 'bridge', 'nf_tables', 'crc32c_intel',
  'macvlan', 'macvtap', 'vxlan', 'nft_chain_nat', 'nft_masq', 'nft_nat', 'nft_ct', 'nft_fib_inet', 'nft_fib_ipv4', 'nft_fib_ipv6',
  'nft_reject_inet', 'nft_limit', 'nft_counter', 'nft_compat', 'nf_nat', 'nf_conntrack', 'br_netfilter', 'nft_redir',
  'vhost_net', 'vhost_vsock', 'kvm_intel', 'kvm_amd',
] as const;

/** Module names are compared with '-' and '_' folded, as the kernel does. */
export const modName = (s: string): string => s.replace(/\.ko(\.[a-z]+)?$/, '').replace(/-/g, '_');

/** The `depends=` list of a module's .modinfo section (NUL-separated key=value strings). */
export function modinfoDepends(ko: Uint8Array): string[] {
  const b = Buffer.from(ko.buffer, ko.byteOffset, ko.byteLength);
  const key = Buffer.from('\0depends=');
  const at = b.indexOf(key);
  if (at < 0) return [];
  const start = at + key.length;
  const end = b.indexOf(0, start);
  const v = b.toString('utf8', start, end < 0 ? b.length : end);
  return v === '' ? [] : v.split(',').map(modName);
}

/** Name -> path relative to the version directory (e.g. kernel/fs/btrfs/btrfs.ko). */
export async function moduleIndex(versionDir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    for (const d of await readdir(dir, { withFileTypes: true })) {
      const abs = join(dir, d.name);
      if (d.isDirectory()) await walk(abs);
      else if (/\.ko(\.[a-z]+)?$/.test(d.name)) out.set(modName(d.name), relative(versionDir, abs));
    }
  };
  await walk(join(versionDir, 'kernel'));
  return out;
}

/**
 * The wanted modules plus everything they depend on, dependencies first. A wanted module that is
 * not in the tree is listed in `builtinOrMissing` (the caller checks modules.builtin).
 */
export async function moduleClosure(versionDir: string, wanted: readonly string[]): Promise<{ order: string[]; paths: Map<string, string>; absent: string[] }> {
  const index = await moduleIndex(versionDir);
  const order: string[] = [];
  const paths = new Map<string, string>();
  const absent: string[] = [];
  const seen = new Set<string>();
  const visit = async (name: string): Promise<void> => {
    if (seen.has(name)) return;
    seen.add(name);
    const rel = index.get(name);
    if (!rel) {
      absent.push(name);
      return;
    }
    for (const dep of modinfoDepends(await readFile(join(versionDir, rel)))) await visit(dep);
    order.push(name);
    paths.set(name, rel);
  };
  for (const w of wanted) await visit(modName(w));
  return { order, paths, absent };
}
