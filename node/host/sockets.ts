import { readFile } from 'node:fs/promises';

/**
 * Sockets that accept inbound traffic in this network namespace, from /proc/net: TCP in LISTEN
 * and UDP bound to a port with no connected peer. For the node as an OS (PID 1 in the root
 * namespace) this is the whole machine; diagnostics report it so a farmer can check "no inbound".
 */
export interface ListeningSocket {
  proto: 'tcp' | 'tcp6' | 'udp' | 'udp6';
  /** Local address:port as the kernel prints it (hex). */
  local: string;
}

/** Parses one /proc/net/{tcp,udp}[6] table (pure). */
export function parseListening(proto: ListeningSocket['proto'], table: string): ListeningSocket[] {
  const out: ListeningSocket[] = [];
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    const [local, remote, state] = [f[1]!, f[2]!, f[3]!];
    const listening = proto.startsWith('tcp') ? state === '0A' : remote.endsWith(':0000');
    if (listening) out.push({ proto, local });
  }
  return out;
}

export async function listeningSockets(): Promise<ListeningSocket[]> {
  const out: ListeningSocket[] = [];
  for (const proto of ['tcp', 'tcp6', 'udp', 'udp6'] as const) {
    out.push(...parseListening(proto, await readFile(`/proc/net/${proto}`, 'utf8').catch(() => '')));
  }
  return out;
}
