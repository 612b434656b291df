/**
 * Image build/verify/materialize throughput next to sha256sum, b2sum and cp -a over the same tree in the same run,
 * and the dedup ratio across two versions of a root-filesystem-like tree.
 * Bounded: a ~120 MiB slice of /usr/lib (override with ZOS_BENCH_MB). The last line holds the ratios
 * against the goals of issue 16, PASS/MISS beside each. Run: node --import tsx bench/image.ts
 */
import { lstat, mkdtemp, readdir, rm, writeFile, appendFile, unlink, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { debootstrapAvailable, rootfsVersions } from './rootfs.ts';
import { openImageStore } from '../image/index.ts';

const BUDGET = Number(process.env.ZOS_BENCH_MB ?? 120) * 1024 * 1024;
const SOURCE = process.env.ZOS_BENCH_SRC ?? '/usr/lib';

async function pickFiles(root: string, budget: number): Promise<{ list: string[]; bytes: number }> {
  const list: string[] = [];
  let bytes = 0;
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(root, rel)).catch(() => [] as string[])).sort()) {
      if (bytes >= budget) return;
      const r = rel ? `${rel}/${name}` : name;
      const st = await lstat(join(root, r));
      if (st.isDirectory()) await walk(r);
      else if (st.isFile() || st.isSymbolicLink()) {
        list.push(r);
        if (st.isFile()) bytes += st.size;
      }
    }
  };
  await walk('');
  return { list, bytes };
}

interface Timed<T> {
  s: number;
  /** CPU of this process (every thread), user + system. */
  cpuMs: number;
  v: T;
}

async function timeIt<T>(fn: () => Promise<T>): Promise<Timed<T>> {
  const t = performance.now();
  const c = process.cpuUsage();
  const v = await fn();
  const used = process.cpuUsage(c);
  return { s: (performance.now() - t) / 1000, cpuMs: (used.user + used.system) / 1000, v };
}

const mbps = (bytes: number, s: number) => (bytes / 1048576 / s).toFixed(1);

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'zos-bench-image-'));
  try {
    const useRootfs = process.argv.includes('--debootstrap');
    if (useRootfs && !(await debootstrapAvailable())) throw new Error('--debootstrap needs root and `apt-get install debootstrap`');
    const real = useRootfs ? await rootfsVersions(work) : null;
    const a = real?.a ?? join(work, 'v1');
    const b = real?.b ?? join(work, 'v2');
    let bytes = 0;
    if (real) {
      bytes = Number((await execa('sh', ['-c', `find "${a}" -type f -printf '%s\\n' | awk '{s+=$1} END {print s}'`])).stdout.trim());
      console.log(`tree: ${a}, ${(bytes / 1048576).toFixed(1)} MiB of regular files`);
      console.log(`dedup versions: ${real.note}`);
    } else {
    const { list, bytes: picked } = await pickFiles(SOURCE, BUDGET);
    bytes = picked;
    await writeFile(join(work, 'list'), list.join('\n'));
    await execa('mkdir', ['-p', a]);
    await execa('sh', ['-c', `tar -C "${SOURCE}" -cf - --no-recursion -T "${join(work, 'list')}" | tar -C "${a}" -xf -`]);
    await execa('cp', ['-a', a, b]);
    // v2 = "a few packages upgraded": 20 files edited in the middle, 5 grown, 5 removed, 5 added.
    let edited = 0;
    for (const f of list) {
      const p = join(b, f);
      const st = await lstat(p).catch(() => undefined);
      if (!st?.isFile() || st.size < 200_000) continue;
      if (edited < 20) {
        const fh = await open(p, 'r+');
        const patch = Buffer.from(`patched ${edited}`);
        await fh.write(patch, 0, patch.length, Math.floor(st.size / 2));
        await fh.close();
      } else if (edited < 25) await appendFile(p, Buffer.alloc(4096, edited));
      else if (edited < 30) await unlink(p);
      else break;
      edited++;
    }
    for (let i = 0; i < 5; i++) await writeFile(join(b, `new-${i}.so`), Buffer.alloc(300_000, i + 1));
    console.log(`tree: ${list.length} entries, ${(bytes / 1048576).toFixed(1)} MiB of regular files sliced from ${SOURCE}`);
    console.log(`dedup versions: SYNTHETIC (run with --debootstrap for two real root filesystems): v2 = v1 with 20 files edited mid-file, 5 grown, 5 removed, 5 added`);
    }

    const find = `find "${a}" -type f -print0 | xargs -0 -r`;
    await execa('sh', ['-c', `${find} cat > /dev/null`]); // warm the page cache for everyone
    const sha = await timeIt(() => execa('sh', ['-c', `${find} sha256sum > /dev/null`]));
    const b2 = await timeIt(() => execa('sh', ['-c', `${find} b2sum > /dev/null`]));
    // Baseline for materialize: a plain copy of the same tree. Kept until the end: on ext4, files
    // created right after many were deleted pay for it (the inode allocator steps over recently
    // deleted inodes), which would charge the copy's removal to the build measured next.
    const cp = await timeIt(() => execa('cp', ['-a', a, join(work, 'cp-baseline')]));

    const node = await openImageStore(join(work, 'node'));
    const build = await timeIt(() => node.build(a, { tag: 'v1', xattrs: 'skip' }));
    const verify = await timeIt(() => node.verify('v1'));
    const mat = await timeIt(() => node.materialize('v1'));
    const relaunch = await timeIt(() => node.materialize('v1'));
    const build2 = await timeIt(() => node.build(b, { tag: 'v2', xattrs: 'skip' }));
    const mat2 = await timeIt(() => node.materialize('v2'));
    const du = async (p: string) => Number((await execa('du', ['-sk', p])).stdout.split('\t')[0]) * 1024;
    const storeBytes = await du(join(work, 'node/store/chunks'));
    const objBytes = await du(join(work, 'node/cache/objects'));
    const count = async (cmd: string) => Number((await execa('sh', ['-c', `${cmd} | wc -l`])).stdout.trim());
    const objects = await count(`find "${join(work, 'node/cache/objects')}" -type f`);
    const filesV1 = await count(`find "${a}" -type f`);
    const filesV2 = await count(`find "${b}" -type f`);

    // One measurement per figure: the table and the RESULT line below use the same timings, each
    // operation against its own baseline (build: sha256sum, verify: b2sum, materialize: cp -a).
    const ours = (name: string, t: Timed<unknown>, base: Timed<unknown>, baseName: string): [string, string, string] => [
      name,
      `${mbps(bytes, t.s)} MB/s, ${((t.cpuMs / bytes) * 1048576).toFixed(1)} ms CPU/MiB`,
      `${(base.s / t.s).toFixed(2)}x ${baseName}`,
    ];
    const rows: Array<[string, string, string]> = [
      ['sha256sum (baseline)', `${mbps(bytes, sha.s)} MB/s`, ''],
      ['b2sum (baseline)', `${mbps(bytes, b2.s)} MB/s`, ''],
      ['cp -a (baseline)', `${mbps(bytes, cp.s)} MB/s`, ''],
      ours('image build (chunk+zstd+BLAKE3+store)', build, sha, 'sha256sum'),
      ours('image verify (store: every chunk + file)', verify, b2, 'b2sum'),
      ours('materialize (write + verify files)', mat, cp, 'cp -a'),
      ['re-launch verify (stat tuples only)', `${(relaunch.s * 1000).toFixed(0)} ms (rehashed ${relaunch.v.verify.rehashed})`, `${(cp.s / relaunch.s).toFixed(1)}x cp -a`],
    ];
    console.log('\nthroughput over the same tree (ratio = speed relative to the row\'s baseline, higher is faster; CPU of all our threads)');
    for (const [k, v, r] of rows) console.log(`  ${k.padEnd(44)} ${v.padStart(36)}  ${r}`);

    const referenced = build.v.bytes + build2.v.bytes;
    console.log('\ndedup across v1 and v2');
    console.log(`  v1 chunks ${build.v.uniqueChunks} new ${build.v.newChunks}; v2 chunks ${build2.v.uniqueChunks} new ${build2.v.newChunks} (${(build2.v.newChunkBytes / 1048576).toFixed(2)} MiB new)`);
    console.log(`  logical bytes of both images: ${(referenced / 1048576).toFixed(1)} MiB; chunk store on disk: ${(storeBytes / 1048576).toFixed(1)} MiB (zstd)`);
    console.log(`  store dedup+compression ratio: ${(referenced / storeBytes).toFixed(2)}x; dedup alone: ${((build.v.uniqueChunks + build2.v.uniqueChunks) / (build.v.uniqueChunks + build2.v.newChunks)).toFixed(2)}x by chunk count`);
    console.log(`  materialized cache for both images: ${objects} file objects for ${filesV1} + ${filesV2} files, ${(objBytes / 1048576).toFixed(1)} MiB (the edited files are the largest ones; v2 materialize ${mat2.s.toFixed(1)} s)`);
    console.log(`  host load while measuring: ${(await execa('cat', ['/proc/loadavg'])).stdout.split(' ').slice(0, 3).join(' ')} (2 cores; baselines ran in the same conditions)`);
    await node.close();
    const goal = (name: string, value: number, target: number) => `${name} ${value.toFixed(2)}x (goal >= ${target}x) ${value >= target ? 'PASS' : 'MISS'}`;
    console.log(
      `RESULT image: ${[
        goal('build/sha256sum', sha.s / build.s, 1.0),
        goal('verify/b2sum', b2.s / verify.s, 1.0),
        goal('materialize/cp -a', cp.s / mat.s, 0.5),
      ].join(' | ')} | dedup+zstd ${(referenced / storeBytes).toFixed(2)}x (as before or better)`,
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
