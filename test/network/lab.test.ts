import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { execa } from 'execa';
import { requireHost } from '../helpers/host.ts';
import { Lab, LAPTOP_IP, nodeIp, labSupported } from '../helpers/lab.ts';

test('lab: hosts on one isolated internet bridge, nothing left after close', async (t) => {
  const why = await labSupported();
  if (!requireHost(t, why === null, why ?? '')) return;
  const lab = await new Lab().start({ nodes: 2, publicIps: { 1: '185.206.122.7' } });
  const namespaces = [lab.internet, lab.services.ns, lab.laptop.ns, ...lab.nodes.map((n) => n.ns)];
  try {
    await lab.exec(lab.laptop, 'ping', ['-c1', '-W2', nodeIp(0)]);
    await lab.exec(lab.nodes[0]!, 'ping', ['-c1', '-W2', '185.206.122.7']);
    // No way out of the lab: no default route, and the host's own addresses are unreachable.
    const routes = (await lab.exec(lab.laptop, 'ip', ['route'])).stdout;
    assert.doesNotMatch(routes, /default/);
    const hostAddr = (await execa('ip', ['-4', '-o', 'addr', 'show', 'scope', 'global'])).stdout.match(/inet (\d+\.\d+\.\d+\.\d+)/)?.[1];
    if (hostAddr) {
      const r = await lab.exec(lab.laptop, 'ping', ['-c1', '-W1', hostAddr], { reject: false });
      assert.notEqual(r.exitCode, 0, 'the host is not reachable from the lab');
    }
    // A service in the lab is reachable from the test process only through a forward.
    const srv = lab.spawn(lab.services, process.execPath, ['-e', `require('net').createServer(c=>c.end('hello')).listen(7000,'${lab.services.ip}',()=>console.log('up'))`]);
    await new Promise<void>((r) => srv.stdout!.once('data', () => r()));
    const port = await lab.forward(7000);
    const got = await new Promise<string>((resolve, reject) => {
      const c = connect(port, '127.0.0.1');
      let s = '';
      c.on('data', (d: Buffer) => (s += d.toString()));
      c.on('end', () => resolve(s));
      c.on('error', reject);
    });
    assert.equal(got, 'hello');
    assert.equal((await lab.exec(lab.laptop, 'ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth0'])).stdout.includes(LAPTOP_IP), true);
  } finally {
    await lab.close();
  }
  const left = (await execa('ip', ['netns', 'list'])).stdout;
  for (const n of namespaces) assert.ok(!left.includes(n), `${n} removed`);
});
