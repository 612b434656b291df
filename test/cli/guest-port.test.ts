// zos up's wait for the sample VM's ssh port (bin/grid/guest-port.ts), in a namespace this test
// makes: refused while nothing listens, open once something does, a clear reason when it never
// opens, stopped at once by Ctrl-C's signal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { waitForGuestPort } from '../../bin/grid/guest-port.ts';
import { requireHost } from '../helpers/host.ts';

const root = process.getuid?.() === 0;
const IP = '198.18.200.2';

async function labNamespace(t: import('node:test').TestContext): Promise<string> {
  const ns = `gp-${process.pid}`;
  await execa('ip', ['netns', 'add', ns]);
  t.after(() => execa('ip', ['netns', 'del', ns], { reject: false }));
  await execa('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  // The guest's address on one end of a veth pair; the other end answers nothing (no address).
  await execa('ip', ['-n', ns, 'link', 'add', 'guest', 'type', 'veth', 'peer', 'name', 'void']);
  await execa('ip', ['-n', ns, 'addr', 'add', `${IP}/24`, 'dev', 'guest']);
  for (const l of ['guest', 'void']) await execa('ip', ['-n', ns, 'link', 'set', l, 'up']);
  return ns;
}

test('guest port: waits through refusals until a listener comes, then reports how long it took', async (t) => {
  if (!requireHost(t, root, 'needs root: makes a network namespace')) return;
  const ns = await labNamespace(t);
  const heard: string[] = [];
  const signal = new AbortController().signal;
  const waiting = waitForGuestPort({ namespace: ns, ip: IP, port: 2222, timeoutMs: 60_000, signal, progress: (why) => heard.push(why) });
  // The "guest" starts listening about 2 s later, as dropbear does after its VM is ok.
  await new Promise((r) => setTimeout(r, 2000));
  const server = execa('ip', ['netns', 'exec', ns, process.execPath, '-e', `require('node:net').createServer((s) => s.end()).listen(2222, ${JSON.stringify(IP)})`], { reject: false });
  t.after(() => server.kill('SIGKILL'));
  const r = await waiting;
  assert.equal(r.open, true, JSON.stringify(r));
  assert.ok(r.open && r.ms >= 2000, `took ${JSON.stringify(r)}`);
  assert.deepEqual(heard, ['connection refused'], 'each new reason once');
});

test('guest port: a port that never opens ends after the bound with its reason; a signal stops the wait at once', async (t) => {
  if (!requireHost(t, root, 'needs root: makes a network namespace')) return;
  const ns = await labNamespace(t);
  const never = new AbortController().signal;
  assert.deepEqual(await waitForGuestPort({ namespace: ns, ip: IP, port: 2223, timeoutMs: 1500, signal: never, progress: () => {} }), { open: false, reason: 'connection refused' });
  // An address nobody answers (ARP on the veth goes unanswered): an attempt hangs, so the signal must cut it.
  const stop = new AbortController();
  const started = Date.now();
  const waiting = waitForGuestPort({ namespace: ns, ip: '198.18.200.9', port: 22, timeoutMs: 60_000, signal: stop.signal, progress: () => {} });
  setTimeout(() => stop.abort(), 500);
  assert.deepEqual(await waiting, { open: false, reason: 'stopped' });
  assert.ok(Date.now() - started < 10_000, 'stopped well before the bound');
  // A namespace that does not exist: ip's own words.
  const gone = await waitForGuestPort({ namespace: `${ns}-gone`, ip: IP, port: 22, timeoutMs: 1000, signal: never, progress: () => {} });
  assert.equal(gone.open, false);
  assert.match(!gone.open ? gone.reason : '', /Cannot open network namespace|No such file/);
});
