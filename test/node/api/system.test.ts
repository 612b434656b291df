// zos.system.{dmi,hypervisor,version} and the registration's machine facts against the host's
// own tools, run here in the test (dmidecode, virt-what, systemd-detect-virt, zinit, ss).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo } from 'node:net';
import { execa } from 'execa';
import { HostSystem } from '../../../node/host/system/index.ts';
import { parseDmidecode } from '../../../node/host/system/dmi.ts';
import { apiFixture } from './api-fixture.ts';

const tool = (cmd: string, args: string[] = []) => execa(cmd, args, { reject: false, env: { LC_ALL: 'C' } });
/** Go's exec error text for a tool that failed or is missing (what zos puts on the wire). */
const goError = (cmd: string, r: { exitCode?: number; cause?: unknown }) =>
  r.exitCode === undefined ? `exec: "${cmd}": executable file not found in $PATH` : `exit status ${r.exitCode}`;

test('zos.system.dmi: the host dmidecode in zos shape, or zos error text where the host has no DMI', async (t) => {
  const api = apiFixture(t);
  const host = await tool('dmidecode');
  if (host.exitCode !== 0) {
    await assert.rejects(api.call('zos.system.dmi'), { message: goError('dmidecode', host) });
    return;
  }
  let expected;
  try {
    expected = JSON.parse(JSON.stringify(parseDmidecode(host.stdout)));
  } catch (err) {
    // A dump zos' decoder rejects gets zos' message, not a partial answer.
    await assert.rejects(api.call('zos.system.dmi'), { message: (err as Error).message });
    return;
  }
  const dmi = await api.call('zos.system.dmi');
  assert.deepEqual(dmi, expected);
  assert.deepEqual(Object.keys(dmi.tooling), ['aggregator', 'decoder']);
  assert.match(dmi.tooling.aggregator, /^dmidecode /);
  // Each section the host tool lists by `-t` is there with the same strings.
  const system = dmi.sections.find((s: any) => s.typenum === 1);
  const product = (await tool('dmidecode', ['-s', 'system-product-name'])).stdout.trim();
  assert.equal(system.typestr, 'System');
  assert.equal(system.subsections[0].properties['Product Name'].value, product);
});

test('zos.system.hypervisor: virt-what first fact ("" on bare metal), and the same for the registration', async (t) => {
  const api = apiFixture(t);
  const virtWhat = await tool('virt-what');
  // Without --vm: a container counts too, as for virt-what.
  const detect = await tool('systemd-detect-virt');
  if (virtWhat.exitCode !== 0 && virtWhat.exitCode !== undefined) {
    await assert.rejects(api.call('zos.system.hypervisor'), { message: `could not detect if VM or not: exit status ${virtWhat.exitCode}` });
    return;
  }
  const answer = await api.call('zos.system.hypervisor');
  if (virtWhat.exitCode === 0) assert.equal(answer, virtWhat.stdout.trim().split(/\s+/)[0] ?? '');
  // systemd-detect-virt agrees on bare metal vs VM.
  if (detect.exitCode !== undefined) assert.equal(answer === '', detect.stdout.trim() === 'none', `${answer} vs ${detect.stdout}`);
  const facts = await new HostSystem().registrationFacts();
  assert.equal(facts.virtualized, answer !== '');
});

test('registration: secure boot from EFI variables, serial from DMI, null where the host has none', async () => {
  const facts = await new HostSystem().registrationFacts();
  const efivar = '/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c';
  assert.equal(facts.secureBoot, existsSync(efivar) ? readFileSync(efivar)[4] === 1 : false);
  const serial = await tool('dmidecode', ['-s', 'baseboard-serial-number']);
  const expected = serial.exitCode === 0 && serial.stdout.trim() !== '' ? serial.stdout.trim() : null;
  assert.equal(facts.serialNumber, expected);
});

test('zos.system.version: package version and zinit -V (or zos exec error text without zinit)', async (t) => {
  const api = apiFixture(t);
  const raw = await api.raw('zos.system.version');
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  const zinit = await tool('zinit', ['-V']);
  const zinitText = zinit.exitCode === 0 ? zinit.stdout.replace(/^zinit/, '').trim() : goError('zinit', zinit);
  assert.equal(raw, JSON.stringify({ zos: pkg.version, zinit: zinitText }));
});

test('zos.statistics.get: open_connections counts established TCP like ss', async (t) => {
  const api = apiFixture(t);
  // Two sockets of our own (one loopback connection), so the count is never trivially 0.
  const server = createServer((s) => s.on('error', () => undefined)).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await once(client, 'connect');
  t.after(() => {
    client.destroy();
    server.close();
  });
  // Connections come and go on a shared machine: the count must match ss in one of a few tries.
  const seen: string[] = [];
  for (let i = 0; i < 5; i++) {
    const ss = (await tool('sh', ['-c', 'ss -tnH state established | wc -l'])).stdout.trim();
    const ours = (await api.call('zos.statistics.get')).open_connections;
    assert.ok(ours >= 2, `our own loopback connection is counted (${ours})`);
    if (Number(ss) === ours) return;
    seen.push(`${ours}/${ss}`);
  }
  assert.fail(`open_connections never matched ss (ours/ss): ${seen.join(' ')}`);
});
