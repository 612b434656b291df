import { readdir, readlink, readFile } from 'node:fs/promises';
import { execa, type Options, type ResultPromise } from 'execa';

export interface BoundSocket {
  proto: string;
  local: string;
  state: string;
}

/** Socket inodes held open by a process (from /proc/<pid>/fd). */
async function socketInodes(pid: number): Promise<Set<string>> {
  const out = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [])) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m) out.add(m[1]!);
  }
  return out;
}

/**
 * Sockets of `pid` that accept inbound traffic: TCP in LISTEN (state 0A) and UDP sockets
 * bound to a port with no connected peer (state 07), from /proc/net/{tcp,tcp6,udp,udp6}.
 */
export async function inboundSockets(pid: number): Promise<BoundSocket[]> {
  const inodes = await socketInodes(pid);
  const found: BoundSocket[] = [];
  for (const proto of ['tcp', 'tcp6', 'udp', 'udp6']) {
    const text = await readFile(`/proc/${pid}/net/${proto}`, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || !inodes.has(f[9]!)) continue;
      const [local, remote, state] = [f[1]!, f[2]!, f[3]!];
      const remotePort = remote.split(':')[1];
      const listening = proto.startsWith('tcp') ? state === '0A' : remotePort === '0000';
      if (listening) found.push({ proto, local, state });
    }
  }
  return found;
}

/** Samples `inboundSockets` every `everyMs` until stop() is called; returns everything seen. */
export function watchInbound(pid: () => number | undefined, everyMs = 100): { stop(): Promise<{ samples: number; seen: BoundSocket[] }> } {
  let running = true;
  let samples = 0;
  const seen: BoundSocket[] = [];
  const loop = (async () => {
    while (running) {
      const p = pid();
      if (p) {
        seen.push(...(await inboundSockets(p)));
        samples++;
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { samples, seen };
    },
  };
}

/**
 * Runs `cmd args` under `strace -f` (seccomp-filtered: only these calls stop it), from its first instruction: every listen() and every
 * AF_INET/AF_INET6 bind() of it and of the processes it starts is written to `traceFile`, however
 * short-lived the socket (sampling /proc would miss one that lives between two samples).
 */
export function traceListens(cmd: string, args: readonly string[], traceFile: string, opts: Options = {}): {
  proc: ResultPromise;
  /** The listen/bind calls seen so far, one strace line each. */
  calls(): Promise<string[]>;
} {
  const proc = execa('strace', ['-f', '-qq', '--seccomp-bpf', '-o', traceFile, '-e', 'trace=listen,bind', '-e', 'signal=none', '--', cmd, ...args], { reject: false, ...opts }) as ResultPromise;
  return {
    proc,
    async calls() {
      const text = await readFile(traceFile, 'utf8').catch(() => '');
      return text.split('\n').filter((l) => /\blisten\(/.test(l) || (/\bbind\(/.test(l) && /AF_INET6?\b/.test(l)));
    },
  };
}
