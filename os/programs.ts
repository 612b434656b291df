import { access, constants, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

/**
 * Which host programs the OS image carries: exactly those the node daemon runs. The source files
 * bundled into the init (esbuild's list of inputs: the daemon's whole import graph) are read for
 * literal command names passed to the exec helpers; programs chosen at run time are declared
 * below with the file that runs them, and count only when that file is in the bundle. The build
 * leaves out (and lists in boot.json) what the host lacks or what is a script.
 */
export const DECLARED: ReadonlyArray<{ cmd: string; file: string; why: string }> = [
  { cmd: 'modprobe', file: 'os/init/system.ts', why: 'init loads the boot modules; the kernel runs /sbin/modprobe to load others on demand' },
  { cmd: 'mknod', file: 'image/materialize.ts', why: 'device entries (command chosen per entry type)' },
  { cmd: 'mkfifo', file: 'image/materialize.ts', why: 'fifo entries (command chosen per entry type)' },
  { cmd: 'qemu-system-x86_64', file: 'node/host/vm/host.ts', why: 'the VM hypervisor (a configurable path)' },
  { cmd: '/usr/lib/qemu/virtiofsd', file: 'node/host/vm/host.ts', why: 'VM root and shares (a configurable path)' },
  { cmd: 'wireguard-go', file: 'node/host/network/wireguard.ts', why: 'private networks (started through an argv array)' },
  { cmd: 'unshare', file: 'node/host/gateway/privileges.ts', why: "haproxy's own mount and UTS namespaces (an argv array after nsenter)" },
  { cmd: 'setpriv', file: 'node/host/gateway/privileges.ts', why: 'haproxy as an unprivileged account with two capabilities (an argv array after nsenter)' },
];

/**
 * Programs the node may run that the image leaves out on purpose: the node then answers as zos
 * does when a tool is absent (Go's exec error text).
 */
export const LEFT_OUT: ReadonlyArray<{ cmd: string; why: string }> = [
  { cmd: 'zinit', why: 'there is no zinit: zos.system.version carries the exec error, as zos does without it' },
  { cmd: 'virt-what', why: 'a shell script (the image has no shell); hypervisor detection reports the exec error' },
  { cmd: 'cpubench', why: "zos' benchmark tool is not packaged for Debian; the perf task reports the exec error" },
];

/** Shells and shell-like tools that must never be in the image. */
export const FORBIDDEN = ['sh', 'bash', 'dash', 'ash', 'zsh', 'ksh', 'csh', 'tcsh', 'fish', 'busybox', 'toybox', 'getty', 'agetty', 'login', 'sshd', 'dropbear'];

const CALL = /(?<![.\w])(?:run|runResult|execa|execaSync|goExec|spawn|spawnDetached)\(\s*(['"])([^'"\s]+)\1/g;
const NS_CALL = /(?<![.\w])nsExec\(\s*[\w.]+\s*,\s*(['"])([^'"\s]+)\1/g;
/** execa's shell option, or an explicit `sh -c`: both need /bin/sh, which the image does not have. */
const SHELL_USE = /\bshell\s*:\s*(true|['"])|(['"])(?:\/bin\/)?(?:ba)?sh\2\s*,\s*(['"])-c\3/g;

export interface SourceScan {
  /** Command -> source files that run it. */
  commands: Map<string, string[]>;
  /** Files that run something through a shell (it fails in the image: there is no /bin/sh). */
  shellUsers: string[];
}

/** Scans the given repo-relative .ts files (the bundle's inputs). */
export async function scanSources(repo: string, files: readonly string[]): Promise<SourceScan> {
  const commands = new Map<string, string[]>();
  const shellUsers: string[] = [];
  for (const rel of files) {
    const text = await readFile(join(repo, rel), 'utf8');
    for (const m of [...text.matchAll(CALL), ...text.matchAll(NS_CALL)]) commands.set(m[2]!, [...new Set([...(commands.get(m[2]!) ?? []), rel])]);
    if ([...text.matchAll(SHELL_USE)].length > 0) shellUsers.push(rel);
  }
  return { commands, shellUsers };
}

/** The program set of the image for a bundle with these inputs: scanned plus declared, minus the left-out ones. */
export async function imagePrograms(repo: string, inputs: readonly string[]): Promise<{ programs: string[]; scan: SourceScan }> {
  const scan = await scanSources(repo, inputs);
  const inBundle = new Set(inputs);
  const declared = DECLARED.filter((d) => inBundle.has(d.file)).map((d) => d.cmd);
  const left = new Set(LEFT_OUT.map((l) => l.cmd));
  const programs = [...new Set([...scan.commands.keys(), ...declared])].filter((c) => !left.has(c)).sort();
  return { programs, scan };
}

const SEARCH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Absolute path of a program on the build host. */
export async function locateProgram(cmd: string): Promise<string> {
  const candidates = cmd.startsWith('/') ? [cmd] : SEARCH.map((d) => join(d, cmd));
  for (const c of candidates) {
    try {
      await access(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  throw new Error(`program "${cmd}" (run by the node) is not installed on this host; install it (see .ci/debian-packages)`);
}

/** True when the file is an interpreted script ("#!"), which the image could not run. */
export async function isScript(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(2);
    await fh.read(b, 0, 2, 0);
    return b.toString('latin1') === '#!';
  } finally {
    await fh.close();
  }
}

/** Shared libraries (and the dynamic loader) of ELF files, as absolute host paths, from ldd. */
export async function sharedLibraries(files: readonly string[]): Promise<string[]> {
  const out = new Set<string>();
  for (const f of files) {
    const r = await execa('ldd', [f], { reject: false, env: { LC_ALL: 'C' } });
    if (r.exitCode !== 0) {
      if (/not a dynamic executable/.test(r.stdout + r.stderr)) continue; // static
      throw new Error(`ldd ${f}: ${r.stderr.trim() || r.stdout.trim()}`);
    }
    for (const line of r.stdout.split('\n')) {
      if (/not found/.test(line)) throw new Error(`ldd ${f}: ${line.trim()}`);
      const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
      if (m) out.add(m[1]!);
    }
  }
  return [...out].sort();
}

/** Where a host path goes in the merged-/usr image (/lib/x -> usr/lib/x, /sbin/x -> usr/sbin/x). */
export function imagePath(hostPath: string): string {
  const rel = hostPath.replace(/^\/+/, '');
  return /^(bin|sbin|lib|lib64)\//.test(rel) ? `usr/${rel}` : rel;
}
