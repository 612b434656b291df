// Pure parsers of node/host/system: vectors of the host tools' output formats.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boardSerial, parseDmidecode, DMI_DECODER } from '../../node/host/system/dmi.ts';
import { parseDetectVirt, parseSecureBootVar, parseVirtWhat } from '../../node/host/system/virt.ts';
import {
  adminInterfaces, countEstablished, defaultRouteInterface, isGlobalAddress, linkAddresses, parseIpAddrJson,
} from '../../node/host/system/links.ts';
import { isGpu, parsePciDevice, pciNames, pciShortId } from '../../node/host/system/pci.ts';

const DUMP = [
  '# dmidecode 3.4',
  'Getting SMBIOS data from sysfs.',
  'SMBIOS 3.2.0 present.',
  '',
  'Handle 0x0000, DMI type 0, 26 bytes',
  'BIOS Information',
  '\tVendor: Example Firmware Inc.',
  '\tVersion: 1.2.3',
  '\tCharacteristics:',
  '\t\tPCI is supported',
  '\t\tBIOS is upgradeable',
  '\tBIOS Revision: 5.17',
  '',
  'Handle 0x0002, DMI type 2, 15 bytes',
  'Base Board Information',
  '\tManufacturer: Example Boards',
  '\tSerial Number: BRD-0042',
  '\tFeatures: Board is a hosting board',
  '\tContained Object Handles: 0',
  '',
  'Handle 0x0030, DMI type 221, 12 bytes',
  'OEM-specific Type',
  '\tHeader and Data:',
  '\t\tDD 0C 30 00',
  'Extra Subsection',
  '\tNote: second title in one section',
  '',
  'Handle 0xFEFF, DMI type 127, 4 bytes',
  'End Of Table',
  '',
].join('\n');

test('dmi: sections, typed names, item lists and subsections in zos shape', () => {
  const dmi = parseDmidecode(DUMP);
  assert.deepEqual(dmi.tooling, { aggregator: 'dmidecode 3.4', decoder: DMI_DECODER });
  assert.deepEqual(dmi.sections.map((s) => [s.typenum, s.typestr]), [
    [0, 'BIOS'], [2, 'Baseboard'], [221, 'Custom Type 221'], [127, 'Custom Type 127'],
  ]);
  assert.deepEqual(dmi.sections[0], {
    handleline: 'Handle 0x0000, DMI type 0, 26 bytes',
    typestr: 'BIOS',
    typenum: 0,
    subsections: [{
      title: 'BIOS Information',
      properties: {
        'BIOS Revision': { value: '5.17' },
        Characteristics: { value: '', items: ['PCI is supported', 'BIOS is upgradeable'] },
        Vendor: { value: 'Example Firmware Inc.' },
        Version: { value: '1.2.3' },
      },
    }],
  });
  assert.deepEqual(dmi.sections[2]!.subsections.map((s) => s.title), ['OEM-specific Type', 'Extra Subsection']);
  // A title with no properties has none (Go omits the empty map).
  assert.equal(JSON.stringify(dmi.sections[3]!.subsections), '[{"title":"End Of Table"}]');
  // Properties are marshalled in key order, like a Go map.
  assert.deepEqual(Object.keys(dmi.sections[1]!.subsections[0]!.properties!), ['Contained Object Handles', 'Features', 'Manufacturer', 'Serial Number']);
  assert.equal(boardSerial(dmi), 'BRD-0042');
});

test('dmi: no aggregator line reads "unknown"; no board serial is null; a line without a key is an error', () => {
  const dmi = parseDmidecode('Handle 0x0001, DMI type 1, 27 bytes\nSystem Information\n\tSerial Number: S1\n');
  assert.equal(dmi.tooling.aggregator, 'unknown');
  assert.equal(boardSerial(dmi), null);
  assert.equal(boardSerial(parseDmidecode('Handle 0x0002, DMI type 2, 8 bytes\nBase Board Information\n\tSerial Number: \n')), null);
  assert.deepEqual(parseDmidecode('# dmidecode 3.4\n# No SMBIOS nor DMI entry point found, sorry.\n').sections, []);
  assert.throws(() => parseDmidecode('Handle 0x0001, DMI type 1, 27 bytes\nSystem Information\n\tno colon here\n'), /couldn't find key value pair/);
  assert.throws(() => parseDmidecode('# x\nHandle 0x0001, DMI type 1'), /invalid section size/);
});

test('virt: first virt-what fact, systemd-detect-virt none is bare metal, SecureBoot variable byte', () => {
  assert.equal(parseVirtWhat('kvm\ndocker\n'), 'kvm');
  assert.equal(parseVirtWhat(''), '');
  assert.equal(parseDetectVirt('none\n'), '');
  assert.equal(parseDetectVirt('qemu\n'), 'qemu');
  assert.equal(parseSecureBootVar(Uint8Array.of(6, 0, 0, 0, 1)), true);
  assert.equal(parseSecureBootVar(Uint8Array.of(6, 0, 0, 0, 0)), false);
  assert.throws(() => parseSecureBootVar(Uint8Array.of(6, 0, 0, 0)), /invalid efivar data/);
});

const IP_JSON = JSON.stringify([
  { ifname: 'lo', address: '00:00:00:00:00:00', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }] },
  { ifname: 'eth0', address: '02:00:00:00:00:01', addr_info: [
    { family: 'inet', local: '198.18.0.2', prefixlen: 24 },
    { family: 'inet6', local: 'fd00::2', prefixlen: 64 },
    { family: 'inet6', local: '2001:db8::2', prefixlen: 64 },
    { family: 'inet6', local: 'fe80::1', prefixlen: 64 },
  ] },
  { ifname: 'eth1', address: '02:00:00:00:00:02', addr_info: [] },
  { ifname: 'veth0', address: '02:00:00:00:00:03', linkinfo: { info_kind: 'veth' }, addr_info: [{ local: '198.18.1.1', prefixlen: 30 }] },
]);

test('links: zos lists physical devices but lo, global non-ULA addresses, null ips when none', () => {
  const links = parseIpAddrJson(IP_JSON);
  assert.equal(JSON.stringify(adminInterfaces(links)),
    '{"eth0":{"ips":["198.18.0.2/24","2001:db8::2/64"],"mac":"02:00:00:00:00:01"},"eth1":{"ips":null,"mac":"02:00:00:00:00:02"}}');
  assert.deepEqual(linkAddresses(links, 'eth0'), ['198.18.0.2', '2001:db8::2']);
  assert.equal(linkAddresses(links, 'nope'), null);
  for (const [ip, ok] of [['10.0.0.1', true], ['169.254.1.1', false], ['224.0.0.1', false], ['0.0.0.0', false], ['::1', false], ['fc00::1', false], ['ff02::1', false]] as const) {
    assert.equal(isGlobalAddress(ip), ok, ip);
  }
});

test('proc: default route interface and established TCP sockets', () => {
  const route = 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n'
    + 'eth1\t000012C6\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n'
    + 'eth0\t00000000\t010012C6\t0003\t0\t0\t0\t00000000\t0\t0\t0\n';
  assert.equal(defaultRouteInterface(route), 'eth0');
  assert.equal(defaultRouteInterface(route.split('\n').slice(0, 2).join('\n')), null);
  const tcp = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n'
    + '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n'
    + '   1: 0100007F:1F90 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 2 1\n'
    + '   2: 0100007F:D2F0 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 3 1\n';
  assert.equal(countEstablished(tcp), 2);
});

test('pci: sysfs attributes, zos GPU rule, short id and pci.ids names (subsystem wins)', () => {
  const attrs = { class: '0x030000\n', vendor: '0x10de\n', device: '0x1eb8\n', subsystem_vendor: '0x10de\n', subsystem_device: '0x12a2\n' };
  const gpu = parsePciDevice('0000:3b:00.0', attrs);
  assert.equal(isGpu(gpu), true);
  assert.equal(pciShortId(gpu), '0000:3b:00.0/10de/1eb8');
  assert.equal(isGpu({ ...gpu, slot: '0000:00:02.0' }), false, 'integrated');
  assert.equal(isGpu({ ...gpu, vendor: 0x8086 }), false, 'vendor not whitelisted');
  assert.equal(isGpu({ ...gpu, class: 0x020000 }), false, 'not a display controller');
  assert.throws(() => parsePciDevice('0000:3b:00.0', { ...attrs, vendor: 'zz' }), /failed to get device '0000:3b:00.0' vendor/);
  const ids = '# comment\n10de  NVIDIA Corporation\n\t1eb8  TU104GL [Tesla T4]\n\t\t10de 12a2  T4 16GB\n\t1eb9  Other\n1af4  Red Hat, Inc.\nC 00  Unclassified device\n';
  assert.deepEqual(pciNames(ids, gpu), { vendor: 'NVIDIA Corporation', device: 'T4 16GB' });
  assert.deepEqual(pciNames(ids, { ...gpu, subsystemDevice: 1 }), { vendor: 'NVIDIA Corporation', device: 'TU104GL [Tesla T4]' });
  assert.deepEqual(pciNames(ids, { ...gpu, device: 0x1234 }), { vendor: 'unknown', device: 'unknown' });
});
