import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { requireHost } from '../helpers/host.ts';
import { waitOutput } from '../helpers/lab.ts';

/**
 * The init's DHCP client against a DHCP server, each in a namespace the test creates (one veth
 * between them, 198.18.7.0/24, no link to the host's network): a lease, renewals at T1 sent to the
 * server itself, and a refused renewal (NAK) that drops the address and takes a new one.
 */
test('os dhcp: the lease is renewed at T1; a refused renewal drops the address and takes a new lease', { timeout: 120_000 }, async (t) => {
  if (!requireHost(t, process.getuid?.() === 0, 'needs root (network namespaces)')) return;
  const id = `${process.pid % 100000}`;
  const [cns, sns, cif, sif] = [`zdhcpc${id}`, `zdhcps${id}`, `zdc${id}`, `zds${id}`];
  const work = await mkdtemp(join(tmpdir(), 'zos-os-dhcp-'));
  const ip = (...a: string[]) => execa('ip', a);
  const tsx = (ns: string, file: string, ...args: string[]) =>
    execa('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', join(import.meta.dirname, 'fixtures', file), ...args], { reject: false });
  let server: ReturnType<typeof tsx> | undefined;
  let client: ReturnType<typeof tsx> | undefined;
  try {
    await ip('netns', 'add', cns);
    await ip('netns', 'add', sns);
    await ip('link', 'add', cif, 'netns', cns, 'type', 'veth', 'peer', 'name', sif, 'netns', sns);
    await ip('-n', sns, 'addr', 'add', '198.18.7.1/24', 'dev', sif);
    await ip('-n', sns, 'link', 'set', sif, 'up');
    await ip('-n', sns, 'route', 'add', '255.255.255.255/32', 'dev', sif);
    server = tsx(sns, 'dhcp-server.ts', '4');
    let served = '';
    server.stdout!.on('data', (d: Buffer) => (served += d.toString()));
    await waitOutput(server, /listening/);
    const resolv = join(work, 'resolv.conf');
    client = tsx(cns, 'dhcp-client.ts', resolv);
    const seen = await waitOutput(client, /network \S+ 198\.18\.7\.50\/24 via 198\.18\.7\.1/, 'stdout', 30_000);
    assert.match(seen, new RegExp(`network ${cif} `));
    assert.equal(await readFile(resolv, 'utf8'), 'nameserver 198.18.7.1\n');
    // lease 4 s: T1 at 2 s; the first renewal is ACKed, the second refused, then a new lease
    const moved = await waitOutput(client, /address 198\.18\.7\.50\/24 is now 198\.18\.7\.51\/24/, 'stdout', 30_000);
    assert.match(moved, /DHCP lease of 198\.18\.7\.50 refused by the server: asking for a new one/);
    assert.match(served, /ack 198\.18\.7\.50 ciaddr 198\.18\.7\.50\n(.|\n)*nak 198\.18\.7\.50 ciaddr 198\.18\.7\.50\n(.|\n)*offer 198\.18\.7\.51/, 'renewals carry the client address; after the NAK, a new lease');
    const addrs = (await ip('-n', cns, '-4', '-o', 'addr', 'show', 'dev', cif)).stdout;
    assert.match(addrs, /198\.18\.7\.51\/24/);
    assert.doesNotMatch(addrs, /198\.18\.7\.50\//, 'the refused address is gone');
    assert.match((await ip('-n', cns, 'route', 'show', 'default')).stdout, /default via 198\.18\.7\.1/);
  } finally {
    client?.kill('SIGKILL');
    server?.kill('SIGKILL');
    await Promise.allSettled([client, server]);
    await ip('netns', 'del', cns).catch(() => undefined);
    await ip('netns', 'del', sns).catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
});
