// Pure parsers for the text the storage host commands print (run with LC_ALL=C). No I/O here.

export interface QgroupRow {
  /** "0/<subvolume id>" */
  qgroupid: string;
  subvolumeId: number;
  referenced: number;
  exclusive: number;
  /** undefined when the limit is "none" */
  maxReferenced: number | undefined;
  /** Path relative to the filesystem root, or "<toplevel>" / "<stale>". */
  path: string;
}

function bytes(field: string, line: string): number {
  const n = Number(field);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`unexpected number ${JSON.stringify(field)} in ${JSON.stringify(line)}`);
  return n;
}

/** `btrfs qgroup show -re --raw [-f path] mnt`: Qgroupid Referenced Exclusive MaxRfer MaxExcl Path. */
export function parseQgroupShow(text: string): QgroupRow[] {
  const rows: QgroupRow[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    const m = /^(\d+)\/(\d+)$/.exec(f[0] ?? '');
    if (!m) continue; // header, separator, blank
    if (f.length < 6) throw new Error(`unexpected qgroup line ${JSON.stringify(line)}`);
    if (m[1] !== '0') continue; // higher-level qgroups are not subvolumes
    rows.push({
      qgroupid: f[0]!,
      subvolumeId: Number(m[2]),
      referenced: bytes(f[1]!, line),
      exclusive: bytes(f[2]!, line),
      maxReferenced: f[3] === 'none' ? undefined : bytes(f[3]!, line),
      path: f.slice(5).join(' '),
    });
  }
  return rows;
}

/** `losetup -n -O NAME -j file`: one device path per line. */
export function parseLosetupNames(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('/dev/'));
}

/** `blkid -p -o export dev`: KEY=value lines (TYPE, LABEL, UUID, ...). */
export function parseBlkidExport(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

export interface MountEntry {
  source: string;
  target: string;
  fstype: string;
}

/** /proc/mounts fields escape space, tab, newline and backslash as octal (\040). */
function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parseProcMounts(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 3) continue;
    out.push({ source: unescapeMountField(f[0]!), target: unescapeMountField(f[1]!), fstype: f[2]! });
  }
  return out;
}

export interface FilesystemUsage {
  deviceSize: number;
  used: number;
}

/** `btrfs filesystem usage -b mnt`: the "Overall" section's Device size and Used. */
export function parseFilesystemUsage(text: string): FilesystemUsage {
  const field = (label: string): number => {
    const m = new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'm').exec(text);
    if (!m) throw new Error(`btrfs filesystem usage: no "${label}" line`);
    return Number(m[1]);
  };
  return { deviceSize: field('Device size'), used: field('Used') };
}
