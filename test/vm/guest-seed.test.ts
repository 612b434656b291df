import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { repoPath } from '../../lib/paths.ts';
import { renderCloudInit } from '../../node/host/vm/cloudinit.ts';
import type { GuestSeed } from '../../node/host/vm/seed.ts';
import { requireHost } from '../helpers/host.ts';

/** Values that YAML must quote or escape, and an SSH key long enough to be folded at 80 columns. */
const LONG_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx0m8o5rPq0bVn8Q9x7Y8Zq3kKq2Yy9Q2Zb7lXhX9aQ user@a-long-host-name.example';
const SEED: GuestSeed = {
  hostname: 'on',
  nics: [
    { mac: '12:34:56:10:20:30', cidr: '198.18.78.9/24', gateway: '198.18.78.1', routes: ['0.0.0.0/0', '100.64.0.0/16'], cidr6: 'fd37:6148:3153:4e::9/64', gateway6: 'fd37:6148:3153:4e::1', routes6: ['::/0'] },
    { mac: '02:ab:cd:ef:01:02', cidr: '', gateway: '', routes: [], cidr6: '2001:db8:5::7/64', gateway6: '2001:db8:5::1', routes6: ['2001:db8::/32'] },
  ],
  dns: ['8.8.8.8', '2001:4860:4860::8888'],
  disks: [{ device: 'vda', mountpoint: "/my data/it's" }],
  shares: [{ tag: 'vol', mountpoint: '/é ünï: "x"' }],
  sshKeys: [LONG_KEY, "a 'q' \"d\" #x", 'bell\u0007 and\u2028line', ' lead'],
  env: { MSG: "it's\nmulti-line", PATH: '/opt/bin' },
  entrypoint: ['/bin/sh', '-c', 'echo "$MSG"'],
};

/** Each call of a seed command: its name, then its arguments. */
async function guestCommands(dir: string, files: ReturnType<typeof renderCloudInit>): Promise<string[][]> {
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  const awk = await execa('busybox', ['awk', '-f', repoPath('node/host/vm/guest/cidata.awk'), ...['meta-data', 'network-config', 'user-data'].map((f) => join(dir, f))]);
  await writeFile(join(dir, 'seed.sh'), awk.stdout);
  const stubs = ['zos_hostname', 'zos_nic', 'zos_addr', 'zos_route', 'zos_dns', 'zos_ssh_keys', 'zos_mount']
    .map((f) => `${f}() { printf '%s\\0' ${f} "$@"; printf '\\36\\0'; }`).join('\n');
  const out = (await execa('busybox', ['sh', '-c', `${stubs}\n. ${join(dir, 'seed.sh')}`], { encoding: 'buffer' })).stdout;
  const calls: string[][] = [[]];
  for (const w of Buffer.from(out).toString('utf8').split('\0').slice(0, -1)) {
    if (w === '\x1e') calls.push([]);
    else calls.at(-1)!.push(w);
  }
  return calls.slice(0, -1);
}

test("guest init's reader of the cloud-init disk (busybox awk): the commands it gives are the seed's facts, whatever YAML had to quote or escape", async (t) => {
  const hasBusybox = (await execa('busybox', ['true'], { reject: false }).catch(() => undefined))?.exitCode === 0;
  if (!requireHost(t, hasBusybox, 'the guest reader runs under busybox (busybox-static)')) return;
  const dir = await mkdtemp(join(tmpdir(), 'zos-guest-seed-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const files = renderCloudInit('7-1-vm', SEED, true);
  assert.ok(files['user-data'].split('\n').some((l) => l.endsWith(LONG_KEY)), 'a long key stays on one line');
  const [a, b] = ['12:34:56:10:20:30', '02:ab:cd:ef:01:02'];
  assert.deepEqual(await guestCommands(dir, files), [
    ['zos_hostname', 'on'],
    ['zos_nic', a],
    ['zos_addr', a, '198.18.78.9/24'],
    ['zos_addr', a, 'fd37:6148:3153:4e::9/64'],
    ['zos_route', a, '0.0.0.0/0', '198.18.78.1'],
    ['zos_route', a, '::/0', 'fd37:6148:3153:4e::1'],
    ['zos_route', a, '100.64.0.0/16', '198.18.78.1'],
    ['zos_nic', b],
    ['zos_addr', b, '2001:db8:5::7/64'],
    ['zos_route', b, '2001:db8::/32', '2001:db8:5::1'],
    ['zos_dns', '8.8.8.8', '2001:4860:4860::8888'],
    ['zos_ssh_keys', ...SEED.sshKeys],
    ['zos_mount', '/dev/vda', "/my data/it's", 'auto', 'defaults'],
    ['zos_mount', 'vol', '/é ünï: "x"', 'virtiofs', 'defaults'],
  ]);

  // No SSH key, no mounts (a full VM's list): nothing to do for either.
  const bare = await guestCommands(dir, renderCloudInit('7-1-vm', { ...SEED, sshKeys: [], nics: [], dns: [] }, false));
  assert.deepEqual(bare, [['zos_hostname', 'on']]);

  // zosrc, sourced as the init does for the workload: its env, the entrypoint as init= and its arguments.
  await writeFile(join(dir, 'zosrc'), files.zosrc);
  const rc = await execa('busybox', ['sh', '-c', `set --; . ${join(dir, 'zosrc')}; printf '%s\\0' "$MSG" "$PATH" "$init" "$@"`]);
  assert.deepEqual(rc.stdout.split('\0').slice(0, -1), ["it's\nmulti-line", '/opt/bin', '/bin/sh', '-c', 'echo "$MSG"']);
});
