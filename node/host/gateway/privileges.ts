import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/**
 * haproxy does not run as root: it is started as an unprivileged account that keeps only the
 * two capabilities it uses. Binding :80 and :443 needs CAP_NET_BIND_SERVICE; dialling a backend
 * inside its owner's network namespace (`server … namespace n-…`, what zos' nnc does) is a
 * setns() per connection, which needs CAP_SYS_ADMIN. haproxy 2.6 (Debian 12) cannot keep
 * capabilities across its own uid switch (`setcap` came in 2.9), so setpriv switches before
 * exec and hands them over as ambient capabilities; the bounding set and no_new_privs keep it
 * from gaining anything else, also across the master's re-exec on reload. CAP_SYS_ADMIN also
 * allows mounts and a hostname: haproxy gets mount and UTS namespaces of its own, so those stay
 * its own (mounts the host makes still reach it as a slave, e.g. /run/netns entries of networks
 * made later, which a reload opens).
 */
export interface ProxyAccount {
  uid: number;
  gid: number;
}

export const PROXY_CAPS = ['net_bind_service', 'sys_admin'] as const;

/** Debian's haproxy package's system account; without it, nobody/nogroup. */
export async function proxyAccount(): Promise<ProxyAccount> {
  const passwd = await readFile('/etc/passwd', 'utf8').catch(() => '');
  for (const line of passwd.split('\n')) {
    const [name, , uid, gid] = line.split(':');
    if (name === 'haproxy' && Number(uid) > 0 && Number(gid) > 0) return { uid: Number(uid), gid: Number(gid) };
  }
  return { uid: 65534, gid: 65534 };
}

/** `cmd` run as `account` with PROXY_CAPS only, in mount and UTS namespaces of its own (each tool execs the next in place). */
export function asProxyAccount(account: ProxyAccount, cmd: string[]): string[] {
  const caps = `-all,${PROXY_CAPS.map((c) => `+${c}`).join(',')}`;
  return [
    'unshare', '--mount', '--uts', '--propagation', 'slave', '--',
    'setpriv', `--reuid=${account.uid}`, `--regid=${account.gid}`, '--clear-groups',
    `--inh-caps=${caps}`, `--ambient-caps=${caps}`, `--bounding-set=${caps}`, '--no-new-privs', '--', ...cmd,
  ];
}

/**
 * Where haproxy's config and socket live: under /run, which its account can traverse (a node's
 * data dir and its parents need not be), one directory per gateway state dir.
 */
export function proxyRunDir(dataDir: string): string {
  return join('/run/zos-gateway', createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 16));
}
