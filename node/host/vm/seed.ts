import { VmError } from './errors.ts';

/**
 * What a guest is told of its deployment; the host writes it on the VM's cloud-init disk
 * (cloudinit.ts, cidata.ts), which our container-mode init reads too. Pure: no I/O here.
 */
export interface GuestSeed {
  hostname: string;
  /**
   * One entry per NIC, found by MAC: an IPv4 `cidr` ('' for none) with `routes` via `gateway`, and
   * optionally an IPv6 `cidr6` with `routes6` via `gateway6` (a zmachine's private NIC: the NR's
   * ULA; its public NIC: the ip workload's IPv6).
   */
  nics: { mac: string; cidr: string; gateway: string; routes: string[]; cidr6?: string; gateway6?: string; routes6?: string[] }[];
  dns: string[];
  /** virtio-blk disks in attach order: vda, vdb ... */
  disks: { device: string; mountpoint: string }[];
  /** virtiofs shares other than the root */
  shares: { tag: string; mountpoint: string }[];
  sshKeys: string[];
  env: Record<string, string>;
  /** argv of the entrypoint; empty means the image's /sbin/init */
  entrypoint: string[];
}

/** zos splits the entrypoint like a shell (shlex): quotes and backslashes, no expansion. */
export function splitCommand(cmd: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < cmd.length; i++) {
    const c = cmd[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else cur += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && i + 1 < cmd.length && '"\\$`'.includes(cmd[i + 1]!)) cur += cmd[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < cmd.length) {
      cur += cmd[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw new VmError('BAD_SPEC', `entrypoint has an unterminated ${quote} quote: ${cmd}`);
  if (inWord) out.push(cur);
  return out;
}

/** SSH_KEY may hold several keys, separated by newlines or commas (as zos' cloud-init splits it). */
export function sshKeysOf(env: Record<string, string>): string[] {
  return (env.SSH_KEY ?? '').split(/[\n,]/).map((k) => k.trim()).filter(Boolean);
}
