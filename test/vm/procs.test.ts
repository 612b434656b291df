import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aliveWith, spawnDetached, terminate, waitFor } from '../../node/host/vm/procs.ts';

test('terminate: a daemon that ignores SIGTERM is killed with its whole process group, its children too (a haproxy master killed after its grace leaves workers that hold its ports)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'zos-procs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const marker = join(dir, 'daemon-marker');
  // A leader that ignores SIGTERM and a child that ignores it too, as a worker busy past the grace.
  const script = `trap '' TERM; sh -c 'trap "" TERM; echo $$ > ${dir}/child; while :; do sleep 0.05; done' & while :; do sleep 0.05; done # ${marker}`;
  const pid = spawnDetached('sh', ['-c', script], join(dir, 'log'));
  assert.ok(await waitFor(async () => (await readFile(join(dir, 'child'), 'utf8').catch(() => '')).trim() !== '', 5000), 'the child started');
  const child = Number((await readFile(join(dir, 'child'), 'utf8')).trim());
  assert.ok(await aliveWith(pid, marker));
  await terminate(pid, marker, 300);
  assert.equal(await aliveWith(pid, marker), false, 'the leader is gone');
  const st = await readFile(`/proc/${child}/stat`, 'utf8').catch(() => '');
  assert.ok(st === '' || / Z /.test(st.slice(st.lastIndexOf(')'))), `the child is gone with its group, not left running (${st.slice(0, 60)})`);
});
