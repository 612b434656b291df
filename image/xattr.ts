import { execa } from 'execa';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageError } from './errors.ts';

/**
 * Extended attributes through the `attr` tools (Node has no xattr API): one `getfattr -R` dump
 * per tree when reading and one `setfattr --restore` when writing, never one process per file.
 * Values are base64 everywhere (the manifest stores them the same way).
 */
export type Xattrs = Record<string, string>;

let toolsPresent: Promise<boolean> | undefined;
export function hasXattrTools(): Promise<boolean> {
  toolsPresent ??= Promise.all([execa('getfattr', ['--version'], { reject: false }), execa('setfattr', ['--version'], { reject: false })]).then(
    ([g, s]) => g.exitCode === 0 && s.exitCode === 0,
    () => false,
  );
  return toolsPresent;
}

async function requireTools(): Promise<void> {
  if (!(await hasXattrTools())) throw new ImageError('HOST', 'getfattr/setfattr not found: install the Debian package "attr" (or build with xattrs disabled)');
}

/** getfattr writes bytes outside printable ASCII-safe names as \ooo octal escapes. */
function unescapeName(s: string): string {
  const bytes: number[] = [];
  const raw = Buffer.from(s, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x5c && i + 3 < raw.length && /^[0-7]{3}$/.test(raw.subarray(i + 1, i + 4).toString('latin1'))) {
      bytes.push(parseInt(raw.subarray(i + 1, i + 4).toString('latin1'), 8));
      i += 3;
    } else bytes.push(raw[i]!);
  }
  return Buffer.from(bytes).toString('utf8');
}

function escapeName(s: string): string {
  const bytes: number[] = [];
  for (const b of Buffer.from(s, 'utf8')) {
    if (b === 0x5c || b === 0x3d || b < 0x20 || b === 0x7f) bytes.push(...Buffer.from(`\\${b.toString(8).padStart(3, '0')}`, 'latin1'));
    else bytes.push(b);
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Parse `getfattr -d -e base64` output into path -> {name: base64}. Pure. */
export function parseGetfattrDump(text: string): Map<string, Xattrs> {
  const out = new Map<string, Xattrs>();
  let current: Xattrs | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('# file: ')) {
      const path = unescapeName(line.slice(8));
      current = {};
      out.set(path === '' ? '.' : path, current);
    } else if (line !== '' && current) {
      const eq = line.indexOf('=');
      const name = unescapeName(eq < 0 ? line : line.slice(0, eq));
      const value = eq < 0 ? '' : line.slice(eq + 1);
      if (value !== '' && !value.startsWith('0s')) throw new ImageError('HOST', `getfattr: unexpected value encoding in "${line}"`);
      current[name] = value.slice(2);
    }
  }
  for (const [k, v] of out) if (Object.keys(v).length === 0) out.delete(k);
  return out;
}

/** Format a `setfattr --restore` dump. Pure. */
export function formatSetfattrDump(items: Iterable<[string, Xattrs]>): string {
  let out = '';
  for (const [path, attrs] of items) {
    out += `# file: ${escapeName(path)}\n`;
    for (const name of Object.keys(attrs).sort()) out += `${escapeName(name)}=0s${attrs[name]}\n`;
    out += '\n';
  }
  return out;
}

/** All xattrs under root (symlinks not followed), keyed by path relative to root ("." for root). */
export async function readTreeXattrs(root: string): Promise<Map<string, Xattrs>> {
  await requireTools();
  const r = await execa('getfattr', ['-h', '-R', '-P', '-d', '-m', '-', '-e', 'base64', '.'], { cwd: root, reject: false, stripFinalNewline: false, maxBuffer: 1 << 30 });
  if (r.exitCode !== 0 && r.stderr.trim() !== '') throw new ImageError('HOST', `getfattr in ${root} failed: ${r.stderr.trim()}`);
  return parseGetfattrDump(r.stdout);
}

/** Set xattrs on paths relative to cwd, all in one setfattr run. */
export async function writeXattrs(cwd: string, items: Array<[string, Xattrs]>): Promise<void> {
  if (items.length === 0) return;
  await requireTools();
  const dir = await mkdtemp(join(tmpdir(), 'zos-xattr-'));
  try {
    const dump = join(dir, 'dump');
    await writeFile(dump, formatSetfattrDump(items));
    const r = await execa('setfattr', ['-h', `--restore=${dump}`], { cwd, reject: false });
    if (r.exitCode !== 0) throw new ImageError('HOST', `setfattr in ${cwd} failed: ${r.stderr.trim()}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
