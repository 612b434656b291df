import { access, constants, open, readdir, readFile, realpath } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { execa } from 'execa';

/**
 * Which host programs the OS image carries: exactly those the node's code runs. Literal command
 * names passed to run()/runResult()/execa() under the scanned folders are found by reading the
 * source; programs chosen at run time are declared below with the reason. The build fails when
 * one of them is missing on the build host or is a script (the image has no interpreter for it).
 */
export const SCANNED_DIRS = ['node', 'image', 'lib', 'os/init'] as const;

/** Programs run with a computed name, or by the kernel, that a source scan cannot see. */
export const DECLARED: ReadonlyArray<{ cmd: string; why: string }> = [
  { cmd: 'modprobe', why: 'init loads the boot modules; the kernel runs /sbin/modprobe to load nft expressions and link types on demand' },
  { cmd: 'ip', why: 'init brings up the network (addresses, default route)' },
  { cmd: 'mknod', why: 'image/materialize.ts creates device entries (command chosen per entry type)' },
  { cmd: 'mkfifo', why: 'image/materialize.ts creates fifo entries (command chosen per entry type)' },
];

/** Shells and shell-like tools that must never be in the image. */
export const FORBIDDEN = ['sh', 'bash', 'dash', 'ash', 'zsh', 'ksh', 'csh', 'tcsh', 'fish', 'busybox', 'toybox', 'getty', 'agetty', 'login', 'sshd', 'dropbear'];

const CALL = /(?<![.\w])(?:run|runResult|execa|execaSync)\(\s*(['"])([^'"\s]+)\1/g;
const SHELL_OPT = /\bshell\s*:\s*(true|['"])/g;

export interface SourceScan {
  /** Command -> source files that run it. */
  commands: Map<string, string[]>;
  /** Files that ask execa for a shell (none allowed: the image has no /bin/sh). */
  shellUsers: string[];
}

async function tsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const abs = join(dir, d.name);
    if (d.isDirectory()) out.push(...(await tsFiles(abs)));
    else if (d.name.endsWith('.ts')) out.push(abs);
  }
  return out;
}

export async function scanSources(repo: string): Promise<SourceScan> {
  const commands = new Map<string, string[]>();
  const shellUsers: string[] = [];
  for (const dir of SCANNED_DIRS) {
    for (const file of await tsFiles(join(repo, dir))) {
      const text = await readFile(file, 'utf8');
      const rel = relative(repo, file);
      for (const m of text.matchAll(CALL)) commands.set(m[2]!, [...(commands.get(m[2]!) ?? []), rel]);
      if (SHELL_OPT.test(text)) shellUsers.push(rel);
      SHELL_OPT.lastIndex = 0;
    }
  }
  return { commands, shellUsers };
}

/** The program set of the image: scanned commands plus the declared ones, sorted. */
export async function imagePrograms(repo: string): Promise<{ programs: string[]; scan: SourceScan }> {
  const scan = await scanSources(repo);
  const programs = [...new Set([...scan.commands.keys(), ...DECLARED.map((d) => d.cmd)])].sort();
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

export async function resolveReal(path: string): Promise<string> {
  return realpath(path);
}
