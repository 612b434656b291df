import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, symlink, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { BIN } from '../helpers/grid.ts';
import { cleanupHostState, loopDevicesUnder, mountsUnder, requireHost } from '../helpers/host.ts';
import { processesWith, requireVmHost, sshKey } from '../vm/fixtures.ts';

// `zos up` as a real child process: a whole grid, its sample deployment, and a clean stop.

const root = process.getuid?.() === 0;

/** Collects stdout and resolves when `re` matches what was printed so far. */
function watchOutput(proc: ResultPromise) {
  let buf = '';
  const waiters = new Set<() => void>();
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    for (const w of waiters) w();
  });
  return {
    get text() {
      return buf;
    },
    waitFor(re: RegExp, timeoutMs = 150_000): Promise<RegExpExecArray> {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = re.exec(buf);
          if (m) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(m);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${re}; output:\n${buf.slice(-3000)}`));
        }, timeoutMs);
        waiters.add(check);
        void proc.then((r) => {
          if (!re.exec(buf)) reject(new Error(`zos up exited (${r.exitCode}) before ${re}:\n${buf.slice(-3000)}\n${String(r.stderr).slice(-3000)}`));
        });
        check();
      });
    },
  };
}

interface Proc {
  pid: number;
  ppid: number;
  /** Start time in clock ticks since boot: tells a live process from a reused pid. */
  start: string;
  cmd: string;
}

async function processes(): Promise<Proc[]> {
  const out: Proc[] = [];
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const stat = await readFile(`/proc/${e}/stat`, 'utf8').catch(() => '');
    if (!stat) continue;
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.push({ pid: Number(e), ppid: Number(f[1]), start: f[19]!, cmd: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) });
  }
  return out;
}

/** Every descendant of `pid`, depth first. */
async function descendants(pid: number): Promise<Proc[]> {
  const all = await processes();
  const out: Proc[] = [];
  const walk = (p: number) => {
    for (const c of all) if (c.ppid === p) (out.push(c), walk(c.pid));
  };
  walk(pid);
  return out;
}

/** Those of `procs` still running (same pid and start time). */
async function stillRunning(procs: Proc[]): Promise<Proc[]> {
  const now = await processes();
  return procs.filter((p) => now.some((q) => q.pid === p.pid && q.start === p.start));
}

const netns = async () => String((await execa('ip', ['netns', 'list'], { reject: false })).stdout).split('\n').map((l) => l.split(' ')[0]!).filter(Boolean);

test('up: the sample VM reaches ok and is reached over WireGuard + ssh as printed, the printed commands work, and Ctrl-C leaves nothing behind', async (t) => {
  if (!requireHost(t, root, 'needs root: zos up runs nodes with btrfs pools on loop devices')) return;
  if (!(await requireVmHost(t))) return;
  const parent = await mkdtemp(join(tmpdir(), 'zos-up-test-'));
  const dir = join(parent, 'grid');
  const { key } = await sshKey(parent);
  // A relative --data-dir, in its own process group so Ctrl-C can be sent to the group as a terminal does.
  const proc = execa(BIN, ['up', '--data-dir', 'grid', '--chain-port', '0', '--relay-port', '0', '--indexer-port', '0', '--image-port', '0', '--ssh-key', `${key}.pub`, '--refresh', '1'],
    { cwd: parent, detached: true, reject: false, env: { ZOS_NODE_LOG_LEVEL: 'warn', ZOS_VM_ACCEL: 'tcg' } });
  let wgConf = '';
  t.after(async () => {
    if (wgConf) await execa('wg-quick', ['down', wgConf], { reject: false });
    // After a failure zos up still runs, with its nodes as children in its process group: Ctrl-C
    // (SIGINT to the group) lets it stop them; SIGKILL to the group if it has not within 60 s.
    if (proc.exitCode === null && proc.pid) {
      try {
        process.kill(-proc.pid, 'SIGINT');
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-proc.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 60_000);
      await proc;
      clearTimeout(timer);
    }
    await proc;
    // After a failure zos up was killed: its nodes' VMs, networks, mounts and loop devices are each node's to clean.
    for (const n of await readdir(join(dir, 'nodes')).catch((): string[] => [])) await cleanupHostState(join(dir, 'nodes', n));
    await cleanupHostState(dir);
    await execa('nft', ['delete', 'table', 'ip', 'zos-uplink'], { reject: false });
    await rm(parent, { recursive: true, force: true });
  });
  const out = watchOutput(proc);

  await out.waitFor(/✔ sample deployment: all workloads ok: data=ok disk=ok net=ok vm=ok/, 400_000);
  // zos up prints the ssh command only once the guest's ssh port accepts a connection.
  const ready = (await out.waitFor(/✔ sample VM: ssh answers on 198\.19\.2\.2:22 \(after [\d.]+ s\)/, 240_000)).index;
  wgConf = (await out.waitFor(/^ {2}wg-quick up (\S+)$/m))[1]!;
  const sshLine = (await out.waitFor(/^ {2}ssh -i (\S+) root@([\d.]+)$/m));
  assert.ok(ready < sshLine.index, 'the ssh command comes after the wait');
  const deployLine = await out.waitFor(/zos deploy \S+ --node (\d+) --chain (ws:\S+) --relay (ws:\S+) --mnemonic "([a-z ]+)"/);
  await out.waitFor(/contract (\d+) {2}sample {2}data=ok disk=ok net=ok vm=ok/);
  const info = JSON.parse(await readFile(join(dir, 'grid.json'), 'utf8')) as { chainUrl: string; relayUrl: string; nodes: Array<{ nodeId: number; pid: number; dataDir: string }>; user: { mnemonicFile: string } };
  assert.equal(info.chainUrl, deployLine[2]);
  assert.equal(info.relayUrl, deployLine[3]);
  assert.equal(info.nodes.length, 1);
  assert.equal((await readFile(info.user.mnemonicFile, 'utf8')).trim(), deployLine[4]);

  // What it tells people to run from another shell works against it.
  const list = await execa(BIN, ['deployments', 'list', '--chain', info.chainUrl, '--relay', info.relayUrl, '--key-file', info.user.mnemonicFile, '--json'], { reject: false });
  assert.equal(list.exitCode, 0, String(list.stderr));
  const rows = JSON.parse(String(list.stdout)) as Array<{ name: string; nodeId: number; workloads: Array<{ state: string }> }>;
  assert.deepEqual(rows.map((r) => [r.name, r.nodeId, r.workloads.map((w) => w.state)]), [['sample', info.nodes[0]!.nodeId, ['ok', 'ok', 'ok', 'ok']]]);

  // As the README says: WireGuard from this machine into the sample network, then ssh with the user's key.
  const up = await execa('wg-quick', ['up', wgConf], { reject: false });
  assert.equal(up.exitCode, 0, String(up.stderr));
  const ssh = async (cmd: string) => execa('ssh', ['-i', sshLine[1]!, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes',
    '-o', 'ConnectTimeout=10', '-o', 'LogLevel=ERROR', `root@${sshLine[2]}`, cmd], { reject: false, timeout: 60_000 });
  // No retry: zos up waited for the guest's ssh port before printing the command.
  const vm = await ssh('hostname; df -k /data | tail -1; grep " /srv " /proc/mounts; ping -c 1 -W 2 198.18.241.1 >/dev/null 2>&1; echo uplink=$?');
  assert.equal(vm.exitCode, 0, String(vm.stderr));
  const [hostname, df, srv, uplink] = String(vm.stdout).trim().split('\n');
  assert.equal(hostname, 'vm');
  const kib = Number(df!.split(/\s+/)[1]);
  assert.ok(kib > 900 * 1024 && kib <= 1024 * 1024, `the 1 GiB disk at /data (${df})`);
  assert.match(srv!, /^data \/srv virtiofs /, 'the volume at /srv');
  // --no-nr-egress: the network cannot open anything on this machine (the node side of its uplink).
  assert.equal(uplink, 'uplink=1');
  assert.equal((await execa('wg-quick', ['down', wgConf], { reject: false })).exitCode, 0);
  wgConf = '';

  const children = await descendants(proc.pid!);
  assert.ok(children.some((c) => c.pid === info.nodes[0]!.pid), `node pid ${info.nodes[0]!.pid} among ${JSON.stringify(children)}`);
  assert.ok((await mountsUnder(dir)).length > 0, 'the node pool is mounted while running');
  const nrDir = join(info.nodes[0]!.dataDir, 'network', 'nrs');
  const nrs = await Promise.all((await readdir(nrDir)).map(async (f) => (JSON.parse(await readFile(join(nrDir, f), 'utf8')) as { names: Record<string, string> }).names));
  assert.equal(nrs.length, 1, 'the sample network has its network resource');
  assert.ok((await netns()).includes(nrs[0]!.ns!));

  process.kill(-proc.pid!, 'SIGINT'); // Ctrl-C: the whole foreground group, nodes included
  const r = await proc;
  assert.equal(r.exitCode, 0, String(r.stderr).slice(-2000));
  assert.match(out.text, /stopped: nodes ended, pools unmounted, loop devices detached/);
  // tsx's esbuild helper exits on its own once its parent's pipe closes: give it a moment.
  for (let i = 0; i < 50 && (await stillRunning(children)).length; i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(await stillRunning(children), [], 'no child process left');
  assert.deepEqual(await processesWith(dir), [], 'no QEMU or virtiofsd of the sample VM left (they daemonize, outside the tree)');
  assert.deepEqual(await mountsUnder(dir), [], 'no mounts under the data dir');
  assert.deepEqual(await loopDevicesUnder(dir), [], 'no loop devices backed by its files');
  // Other engineers' tests add and remove their own namespaces meanwhile: the NR's must be gone, and its links.
  assert.ok(!(await netns()).includes(nrs[0]!.ns!), 'the network resource namespace is gone');
  for (const link of [nrs[0]!.bridge!, nrs[0]!.uplink!, nrs[0]!.wg!]) {
    assert.notEqual((await execa('ip', ['link', 'show', 'dev', link], { reject: false })).exitCode, 0, `link ${link} is gone`);
  }
  assert.doesNotMatch(String((await execa('nft', ['list', 'tables'])).stdout), /zos-uplink/, 'the nodes\' uplink table is gone');
  await rm(dir, { recursive: true }); // nothing busy: removing the data dir just works
});

test('up: a host without btrfs/losetup/mount is told what to install, exit 1', async (t) => {
  // Only node and sh on PATH: every host tool is missing.
  const bin = await mkdtemp(join(tmpdir(), 'zos-up-path-'));
  t.after(() => rm(bin, { recursive: true, force: true }));
  await mkdir(bin, { recursive: true });
  await symlink(process.execPath, join(bin, 'node'));
  await symlink('/bin/sh', join(bin, 'sh'));
  const r = await execa(process.execPath, [BIN, 'up', '--chain-port', '0', '--relay-port', '0'], { reject: false, env: { PATH: bin }, extendEnv: false });
  assert.equal(r.exitCode, 1, String(r.stderr));
  assert.match(String(r.stderr), /missing host tools: btrfs, mkfs\.btrfs, losetup, mount, umount/);
  assert.match(String(r.stderr), /apt-get install btrfs-progs util-linux mount/);
  if (!root) assert.match(String(r.stderr), /run as root/);
});
