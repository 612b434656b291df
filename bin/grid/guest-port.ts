import { execa } from 'execa';

/**
 * Tries a TCP connection to ip:port every half second until one is accepted or the deadline
 * passes; prints each attempt's outcome (`open`, or why not) as a line. Runs as a child in the
 * network's namespace: Node cannot enter a namespace itself.
 */
const PROBE = `
import { connect } from 'node:net';
const [ip, port, ms] = process.argv.slice(1);
const deadline = Date.now() + Number(ms);
const attempt = () => new Promise((resolve) => {
  const s = connect({ host: ip, port: Number(port), timeout: 3000 });
  s.once('connect', () => (s.destroy(), resolve('open')));
  s.once('timeout', () => (s.destroy(), resolve('no answer')));
  s.once('error', (e) => resolve(e.code === 'ECONNREFUSED' ? 'connection refused' : e.code || e.message));
});
for (;;) {
  const r = await attempt();
  console.log(r);
  if (r === 'open') process.exit(0);
  if (Date.now() >= deadline) process.exit(1);
  await new Promise((res) => setTimeout(res, 500));
}`;

export type GuestPortResult = { open: true; ms: number } | { open: false; reason: string };

/**
 * Waits (at most `timeoutMs`) until a guest's TCP port accepts a connection, tried from the
 * network namespace `namespace` on this machine (the NR's, where the VM's bridge ends): a
 * zmachine's `ok` means its VM runs, as in zos, not that the guest's ssh server listens yet,
 * which under TCG on a busy machine comes seconds later. `progress` hears each new reason.
 */
export async function waitForGuestPort(o: {
  namespace: string; ip: string; port: number; timeoutMs: number; signal: AbortSignal; progress(reason: string): void;
}): Promise<GuestPortResult> {
  const started = Date.now();
  let last = 'not tried';
  const proc = execa('ip', ['netns', 'exec', o.namespace, process.execPath, '--input-type=module', '-e', PROBE, o.ip, String(o.port), String(o.timeoutMs)], {
    reject: false, cancelSignal: o.signal, stdin: 'ignore',
  });
  for await (const line of proc) {
    if (line !== last && line !== 'open') o.progress(line);
    last = line;
  }
  const r = await proc;
  if (r.exitCode === 0) return { open: true, ms: Date.now() - started };
  const why = String(r.stderr).trim().split('\n').at(-1);
  return { open: false, reason: r.isCanceled ? 'stopped' : last === 'not tried' && why ? why : last };
}
