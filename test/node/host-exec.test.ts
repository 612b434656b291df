import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostCommandError, run, runResult } from '../../node/host/exec.ts';

/** node/host/exec.ts runs every host command of the node (our addon's posix_spawn, node:child_process where it cannot load; no execa). */

test('host exec: output trimmed, exit code kept, stdin given, English locale', async () => {
  assert.equal(await run('sh', ['-c', 'printf " a b \\n\\n"']), 'a b');
  assert.deepEqual(await runResult('sh', ['-c', 'echo out; echo err >&2; exit 3']), { exitCode: 3, stdout: 'out', stderr: 'err' });
  assert.equal(await run('cat', [], { input: 'table inet x {}\n' }), 'table inet x {}');
  assert.equal(await run('sh', ['-c', 'echo $LC_ALL']), 'C');
  // The node's own environment reaches the command (PATH finds the tools).
  assert.equal(await run('sh', ['-c', 'echo $HOME']), process.env.HOME ?? '');
  // A command that exits without reading its input is not an error.
  assert.equal(await run('true', [], { input: 'x'.repeat(1 << 20) }), '');
});

test('host exec: a failed, missing, stuck or aborted command is a clear error', async () => {
  await assert.rejects(run('sh', ['-c', 'echo nope >&2; exit 2']), (e: unknown) => e instanceof HostCommandError && e.exitCode === 2 && /sh -c .*: exit code 2: nope$/.test(e.message));
  await assert.rejects(run('zos-no-such-command', ['x']), (e: unknown) => e instanceof HostCommandError && /^zos-no-such-command x: could not run: .*ENOENT/.test(e.message));
  const t0 = performance.now();
  await assert.rejects(run('sleep', ['10'], { timeoutMs: 100 }), /sleep 10: timed out after \d+ ms/);
  assert.ok(performance.now() - t0 < 3000);
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error('node stopping')), 50);
  await assert.rejects(run('sleep', ['10'], { signal: ac.signal }), /node stopping/);
  await assert.rejects(run('true', [], { signal: ac.signal }), /node stopping/);
  // Killed by a signal from outside.
  await assert.rejects(run('sh', ['-c', 'kill -9 $$']), /killed by SIGKILL/);
});

test('host exec: a command starts with every signal at its default and none blocked (the node ignores SIGPIPE); large input and output pass whole', async () => {
  const status = await run('cat', ['/proc/self/status']);
  const mask = (name: string) => BigInt(`0x${new RegExp(`^${name}:\\s+([0-9a-f]+)$`, 'm').exec(status)![1]}`);
  // Standard signals 1-31: glibc's posix_spawn leaves its two internal ones (32, 33) ignored, which sigfillset cannot name.
  assert.equal(mask('SigIgn') & 0x7fffffffn, 0n);
  assert.equal(mask('SigBlk'), 0n);
  const big = 'y'.repeat(3 << 20); // past a pipe's 64 KiB both ways
  assert.equal((await run('cat', [], { input: big })).length, big.length);
  assert.equal(await run('sh', ['-c', 'yes | head -c 5']), 'y\ny\ny'); // yes ends on SIGPIPE
});
