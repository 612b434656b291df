/**
 * dmidecode's text output as zos serves it on `zos.system.dmi` (zosbase pkg/capacity/dmi): pure,
 * no I/O. The JSON shape is zos': {tooling:{aggregator, decoder}, sections:[{handleline, typestr,
 * typenum, subsections:[{title, properties:{key:{value, items?}}}]}]}, and the parse follows the
 * same line rules (a section is a "Handle" line, a title, then indented "key: value" lines; a
 * deeper-indented run after a key is that key's item list), so both decoders agree on any dump.
 */

/** Names our decoder in `tooling.decoder`, as zos names its own there. */
export const DMI_DECODER = 'zos-ts dmi decoder v0.1.0';

export interface DmiProperty {
  value: string;
  items?: string[];
}

export interface DmiSubSection {
  title: string;
  properties?: Record<string, DmiProperty>;
}

export interface DmiSection {
  handleline: string;
  typestr: string;
  typenum: number;
  subsections: DmiSubSection[];
}

export interface Dmi {
  tooling: { aggregator: string; decoder: string };
  sections: DmiSection[];
}

/** SMBIOS type names, zos' spelling (typos included: clients may match on them). */
const TYPE_NAMES = [
  'BIOS', 'System', 'Baseboard', 'Chassis', 'Processor', 'MemoryController', 'MemoryModule', 'Cache',
  'PortConnector', 'SystemSlots', 'OnBoardDevices', 'OEMSettings', 'SystemConfigurationOptions', 'BIOSLanguage',
  'GroupAssociations', 'SystemEventLog', 'PhysicalMemoryArray', 'MemoryDevice', '32BitMemoryError',
  'MemoryArrayMappedAddress', 'MemoryDeviceMappedAddress', 'BuiltinPointingDevice', 'PortableBattery',
  'SystemReset', 'HardwareSecurity', 'SystemPowerControls', 'VoltageProbe', 'CoolingDevice', 'TempratureProbe',
  'ElectricalCurrentProbe', 'OutOfBandRemoteAccess', 'BootIntegrityServices', 'SystemBoot', '64BitMemoryError',
  'ManagementDevice', 'ManagementDeviceComponent', 'ManagementThresholdData', 'MemoryChannel', 'IPMIDevice',
  'PowerSupply', 'AdditionalInformation', 'OnboardDeviceExtendedInformation', 'ManagementControllerHostInterface',
] as const;

export const DMI_TYPE_BASEBOARD = 2;

export function dmiTypeName(t: number): string {
  return TYPE_NAMES[t] ?? `Custom Type ${t}`;
}

const indent = (line: string): number => {
  const i = line.search(/\S/);
  return i < 0 ? 0 : i;
};

function property(line: string): [string, DmiProperty] {
  const m = /^(.+?):(.*)$/s.exec(line);
  if (!m) throw new Error(`couldn't find key value pair on the line ${line}`);
  return [m[1]!.trim(), { value: m[2]!.trim() }];
}

/** Sorted keys: Go marshals a map in key order, so the bytes match zos' answer too. */
function sortedProps(props: Map<string, DmiProperty>): Record<string, DmiProperty> | undefined {
  if (props.size === 0) return undefined;
  return Object.fromEntries([...props.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Parses `dmidecode` output; throws zos' message for a malformed section. */
export function parseDmidecode(text: string): Dmi {
  const lines = text.split('\n');
  let i = 0;
  let aggregator = '';
  for (; i < lines.length; i++) {
    if (lines[i]!.startsWith('Handle')) break;
    if (lines[i]!.startsWith('#')) {
      aggregator = lines[i]!.slice(1).trim();
      i++;
      break;
    }
  }
  const sections: DmiSection[] = [];
  for (; i < lines.length; i++) {
    if (!lines[i]!.startsWith('Handle')) continue;
    const [section, next] = readSection(lines, i);
    sections.push(section);
    i = next;
  }
  return { tooling: { aggregator: aggregator || 'unknown', decoder: DMI_DECODER }, sections };
}

function readSection(lines: string[], start: number): [DmiSection, number] {
  if (start + 2 > lines.length) throw new Error('invalid section size');
  const handleline = lines[start]!;
  const m = /DMI type ([0-9]+)/.exec(handleline);
  if (!m) throw new Error(`couldn't find dmitype in handleline ${handleline}`);
  const typenum = Number(m[1]);
  const section: DmiSection = { handleline, typestr: dmiTypeName(typenum), typenum, subsections: [] };
  let title = lines[start + 1]!;
  let props = new Map<string, DmiProperty>();
  const close = () => section.subsections.push({ title, ...(props.size ? { properties: sortedProps(props) } : {}) });
  let i = start + 2;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === '') {
      close();
      return [section, i];
    }
    if (!/^\s/.test(line)) {
      close();
      title = line;
      props = new Map();
      i++;
      continue;
    }
    const level = indent(line);
    const [key, prop] = property(line);
    if (i + 1 < lines.length && indent(lines[i + 1]!) > level) {
      // The deeper-indented lines that follow are this key's items.
      const itemLevel = indent(lines[i + 1]!);
      const items: string[] = [];
      i++;
      while (i < lines.length && indent(lines[i]!) >= itemLevel) items.push(lines[i++]!.trim());
      i--;
      prop.items = items;
    }
    props.set(key, prop);
    i++;
  }
  close();
  return [section, i];
}

/** The board serial zos registers (DMI type 2 "Serial Number"); null where the host doesn't say. */
export function boardSerial(dmi: Dmi): string | null {
  const board = dmi.sections.find((s) => s.typenum === DMI_TYPE_BASEBOARD);
  const serial = board?.subsections[0]?.properties?.['Serial Number']?.value ?? '';
  return serial === '' ? null : serial;
}
