import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropHostKeys } from '../../node/primitives/zmachine/machine.ts';

test("a new VM root loses the image's SSH host keys, and an image's links never lead the deletion outside its root", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'zos-hostkeys-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const root = join(dir, 'root');
  await mkdir(join(root, 'etc/ssh'), { recursive: true });
  for (const f of ['ssh_host_rsa_key', 'ssh_host_rsa_key.pub', 'ssh_host_ed25519_key', 'sshd_config', 'moduli']) await writeFile(join(root, 'etc/ssh', f), 'x');
  await dropHostKeys(root);
  assert.deepEqual((await readdir(join(root, 'etc/ssh'))).sort(), ['moduli', 'sshd_config']);

  // Another root whose etc (or etc/ssh) is a link to somewhere else on the host: nothing there is touched.
  const outside = join(dir, 'host-etc');
  await mkdir(join(outside, 'ssh'), { recursive: true });
  await writeFile(join(outside, 'ssh/ssh_host_ed25519_key'), 'the host key');
  const linkedEtc = join(dir, 'linked-etc');
  await mkdir(linkedEtc);
  await symlink(outside, join(linkedEtc, 'etc'));
  const linkedSsh = join(dir, 'linked-ssh');
  await mkdir(join(linkedSsh, 'etc'), { recursive: true });
  await symlink(join(outside, 'ssh'), join(linkedSsh, 'etc/ssh'));
  await dropHostKeys(linkedEtc);
  await dropHostKeys(linkedSsh);
  assert.deepEqual(await readdir(join(outside, 'ssh')), ['ssh_host_ed25519_key']);
  await dropHostKeys(join(dir, 'no-such-root'));
});
