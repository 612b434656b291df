import { stringify } from 'yaml';
import { VmError } from './errors.ts';
import type { GuestSeed } from './seed.ts';

/**
 * The NoCloud documents of a VM's seed disk (cidata.ts writes them to a vfat disk labelled
 * `cidata`), with the content zos gives its VMs: meta-data (instance-id = the workload id,
 * local-hostname = the workload name), network-config version 2 (each NIC matched by its MAC and
 * named eth0, eth1 ..., static addresses, the default gateway where the VM's default route is,
 * other routes via the NIC's gateway, the nameservers on the first NIC), user-data (root with the
 * SSH_KEY keys; an empty `users` list when there are none, which also means no distribution default
 * user, as in zos; and zos' `mounts`, fstab-like entries) and zos' `zosrc` (env as exports, the
 * entrypoint as init= and `set --`). Pure: no I/O here.
 */
export interface CloudInitFiles {
  'meta-data': string;
  'network-config': string;
  'user-data': string;
  zosrc: string;
}

/**
 * cloud-init reads YAML 1.1 (PyYAML), where an unquoted `12:34:56` is a base-60 integer and
 * `on` or `no` a boolean: the 1.1 schema quotes every such string (a MAC, a hostname). Every
 * scalar stays on its own line (no folding of long SSH keys, no block scalars: a line break is
 * `\n` in double quotes), which is what our container-mode init's reader (guest/cidata.awk) takes.
 */
function yaml(doc: unknown): string {
  return stringify(doc, { version: '1.1', lineWidth: 0, blockQuote: false });
}

const DEFAULT4 = '0.0.0.0/0';
const DEFAULT6 = '::/0';

/**
 * One NIC of network-config. `set-name` is ours (zos has none): without it cloud-init renames
 * nothing, and its networkd, ENI and sysconfig renderers match the key (`eth0`) as the interface's
 * name too, which fails where the guest names it enp0s3; with it, cloud-init first renames the
 * interface with that MAC (seen in a Debian 12 guest with Debian's cloud-init: udev named the NIC
 * enp0s3, cloud-init renamed it eth0 and configured it). Netplan matches by MAC alone anyway.
 */
function ethernet(name: string, nic: GuestSeed['nics'][number], dns: string[] | undefined): Record<string, unknown> {
  const routes = [
    ...nic.routes.filter((r) => r !== DEFAULT4).map((to) => ({ to, via: nic.gateway })),
    ...(nic.routes6 ?? []).filter((r) => r !== DEFAULT6).map((to) => ({ to, via: nic.gateway6 })),
  ];
  return {
    match: { macaddress: nic.mac },
    'set-name': name,
    dhcp4: false,
    addresses: [nic.cidr, nic.cidr6 ?? ''].filter(Boolean),
    ...(nic.routes.includes(DEFAULT4) && nic.gateway ? { gateway4: nic.gateway } : {}),
    ...(nic.routes6?.includes(DEFAULT6) && nic.gateway6 ? { gateway6: nic.gateway6 } : {}),
    ...(routes.length ? { routes } : {}),
    ...(dns ? { nameservers: { addresses: dns } } : {}),
  };
}

/**
 * zos' `mounts` of a VM whose root is virtiofs (kernel mode): each zmount as its device
 * (`/dev/vda` ..., `auto`), each volume by its virtiofs tag (`virtiofs`), with zos' fixed
 * `defaults 0 0`.
 */
function mountEntries(seed: GuestSeed): string[][] {
  return [
    ...seed.disks.map((d) => [`/dev/${d.device}`, d.mountpoint, 'auto']),
    ...seed.shares.map((s) => [s.tag, s.mountpoint, 'virtiofs']),
  ].map((m) => [...m, 'defaults', '0', '0']);
}

/** zos' quoting in zosrc (its port of Python's shlex.quote, without the bare-word shortcut): always single quotes. */
function quote(s: string): string {
  return `'${s.replaceAll("'", `'"'"'`)}'`;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `export NAME='value'` lines; a name that is no shell identifier is refused (zos would write a line no shell runs). */
function envExports(env: Record<string, string>): string[] {
  return Object.entries(env).map(([k, v]) => {
    if (!ENV_NAME.test(k)) throw new VmError('BAD_SPEC', `invalid env variable name '${k}'`);
    return `export ${k}=${quote(v)}`;
  });
}

/** `listMounts`: a virtiofs root's mounts; a full VM's other disks are its own, so `mounts: []`, as zos writes it. */
export function renderCloudInit(instanceId: string, seed: GuestSeed, listMounts = false): CloudInitFiles {
  const ethernets = Object.fromEntries(seed.nics.map((n, i) => [`eth${i}`, ethernet(`eth${i}`, n, i === 0 && seed.dns.length ? seed.dns : undefined)]));
  const users = seed.sshKeys.length ? [{ name: 'root', ssh_authorized_keys: seed.sshKeys }] : [];
  const rc = envExports(seed.env);
  const [init, ...args] = seed.entrypoint;
  if (init) rc.push(`init=${quote(init)}`);
  if (args.length) rc.push(`set -- ${args.map(quote).join(' ')}`);
  return {
    'meta-data': yaml({ 'instance-id': instanceId, 'local-hostname': seed.hostname }),
    'network-config': yaml({ version: 2, ethernets }),
    // cloud-init takes user-data as cloud-config only with this first line.
    'user-data': `#cloud-config\n${yaml({ users, mounts: listMounts ? mountEntries(seed) : [] })}`,
    zosrc: rc.map((l) => `${l}\n`).join(''),
  };
}
