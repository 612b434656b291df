import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { requireHost } from '../helpers/host.ts';

/**
 * PID 1 of the OS runs the node daemon as `tini -s -g -- node init.mjs` (os/init/main.ts): a
 * process the daemon's programs orphan is re-parented to tini, the subreaper, and reaped when it
 * exits, never left a zombie (node as PID 1 could not reap it: libuv waits only for its own children).
 */
const ppidOf = async (pid: number) => Number(/^PPid:\s+(\d+)/m.exec(await readFile(`/proc/${pid}/status`, 'utf8').catch(() => ''))?.[1] ?? 0);

test('os init: the daemon runs under tini as a subreaper, which adopts and reaps orphans', { timeout: 30_000 }, async (t) => {
  if (!requireHost(t, (await execa('tini', ['--version'], { reject: false })).exitCode === 0, 'tini is not installed (apt-get install tini)')) return;
  // The "daemon" starts a helper that starts `sleep 1` and exits at once: sleep is orphaned.
  const daemon = `
    const { spawn } = require('node:child_process');
    const helper = spawn(process.execPath, ['-e', "const c = require('node:child_process').spawn('sleep', ['1'], { stdio: 'ignore', detached: true }); console.log(c.pid); process.exit(0)"], { stdio: ['ignore', 'pipe', 'ignore'] });
    helper.stdout.on('data', (d) => process.stdout.write(d));
    setTimeout(() => {}, 3000);`;
  const tini = execa('tini', ['-s', '-g', '--', process.execPath, '-e', daemon], { reject: false });
  try {
    const orphan = await new Promise<number>((resolve) => tini.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
    await sleep(300);
    assert.equal(await ppidOf(orphan), tini.pid, 'the orphan is re-parented to tini');
    await sleep(1500);
    const stat = await readFile(`/proc/${orphan}/stat`, 'utf8').catch(() => '');
    assert.equal(stat, '', `the orphan was reaped, not left a zombie (${stat.slice(0, 60)})`);
  } finally {
    tini.kill('SIGKILL');
    await tini;
  }
});
