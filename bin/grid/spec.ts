import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { sizeSchema } from '../../lib/size.ts';
import { zodIssues } from '../../lib/zod-issues.ts';
import { validateName } from '../../node/model/workload.ts';
import { CliError, CliErrorCode } from './errors.ts';

/**
 * The human-friendly deployment file (YAML or JSON) that `zos deploy` reads:
 *
 *   node: 1
 *   name: my-disks
 *   workloads:
 *     - { name: disk, type: zmount, size: 10GiB }
 *     - { name: data, type: volume, size: 512MiB }
 *     - { name: net, type: network, ip_range: 10.20.0.0/16, subnet: 10.20.2.0/24, wireguard_private_key: KEY, wireguard_listen_port: 4567, peers: [...] }
 *     - { name: vm, type: zmachine, flist: URL, network: net, ip: 10.20.2.5, cpu: 1, memory: 256MiB, mounts: [{ name: disk, mountpoint: /data }] }
 *
 * Each workload kind is one entry of WORKLOAD_KINDS (its strict schema and the zos data it
 * becomes), so other types slot in without touching the rest. Pure: no I/O but loadSpecFile.
 */

const size = sizeSchema();

const common = {
  name: z.string({ error: 'required: a workload name' }).superRefine((n, ctx) => {
    const err = validateName(n);
    if (err) ctx.addIssue({ code: 'custom', message: `${err} (letters, digits and _ only, at most 36)` });
  }),
  description: z.string().default(''),
};

const sized = z.object({ ...common, type: z.string(), size }).strict();

const cidr4 = z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'expected an IPv4 network like 10.20.0.0/16');
const ipv4 = z.string().regex(/^\d{1,3}(\.\d{1,3}){3}$/, 'expected an IPv4 address like 10.20.2.5');
const wgKey = z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'expected a WireGuard key (base64, as `wg genkey` / `wg pubkey` print)');

const network = z.object({
  ...common, type: z.string(), ip_range: cidr4, subnet: cidr4, wireguard_private_key: wgKey,
  wireguard_listen_port: z.number({ error: 'expected a UDP port' }).int().min(1).max(65535),
  peers: z.array(z.object({ subnet: cidr4, wireguard_public_key: wgKey, allowed_ips: z.array(cidr4).min(1), endpoint: z.string().default('') }).strict()).default([]),
}).strict();

const zmachine = z.object({
  ...common, type: z.string(), flist: z.string().url('expected the image URL (http://HOST:PORT/NAME.flist)'),
  network: z.string({ error: 'required: the name of your network workload' }).min(1), ip: ipv4,
  cpu: z.number({ error: 'expected a number of vCPUs' }).int().min(1).max(255).default(1), memory: size, size: size.optional(),
  mounts: z.array(z.object({ name: z.string(), mountpoint: z.string().regex(/^\/./, 'expected an absolute path (not /)') }).strict()).default([]),
  entrypoint: z.string().default(''), env: z.record(z.string(), z.string()).default({}),
}).strict();

/** Workload kinds a file may use: the zos wire type, and the data it carries. */
export const WORKLOAD_KINDS = {
  zmount: { wireType: 'zmount', schema: sized, data: (w: z.infer<typeof sized>) => ({ size: w.size }) },
  disk: { wireType: 'zmount', schema: sized, data: (w: z.infer<typeof sized>) => ({ size: w.size }) },
  volume: { wireType: 'volume', schema: sized, data: (w: z.infer<typeof sized>) => ({ size: w.size }) },
  network: {
    wireType: 'network', schema: network,
    data: (w: z.infer<typeof network>) => ({
      ip_range: w.ip_range, subnet: w.subnet, wireguard_private_key: w.wireguard_private_key, wireguard_listen_port: w.wireguard_listen_port, peers: w.peers,
    }),
  },
  zmachine: {
    wireType: 'zmachine', schema: zmachine,
    data: (w: z.infer<typeof zmachine>) => ({
      flist: w.flist, network: { public_ip: '', planetary: false, interfaces: [{ network: w.network, ip: w.ip }] },
      size: w.size ?? 0, compute_capacity: { cpu: w.cpu, memory: w.memory }, mounts: w.mounts, entrypoint: w.entrypoint, env: w.env, corex: false,
    }),
  },
} as const;
export type WorkloadKind = keyof typeof WORKLOAD_KINDS;
const KIND_NAMES = Object.keys(WORKLOAD_KINDS) as WorkloadKind[];

export interface WorkloadSpec {
  name: string;
  description: string;
  /** zos wire type (`zmount`, `volume`, ...). */
  type: string;
  data: Record<string, unknown>;
}

export interface DeploymentSpec {
  node: number | null;
  name: string;
  description: string;
  workloads: WorkloadSpec[];
}

const topSchema = z
  .object({
    node: z.number({ error: 'expected a node id (a positive whole number)' }).int().positive().optional(),
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected 1..64 of letters, digits, _ . -').optional(),
    description: z.string().max(256).default(''),
    workloads: z.array(z.object({ type: z.string({ error: 'required: one of ' + KIND_NAMES.join(', ') }) }).passthrough(), {
      error: 'required: a list of workloads',
    }).min(1, 'at least one workload is needed'),
  })
  .strict();

const issues = (error: z.ZodError, prefix: ReadonlyArray<PropertyKey> = []) => zodIssues(error, { prefix, root: '(top level)' });

/** Validates a parsed file; throws CliError(ERR_BAD_FILE) listing every bad field. */
export function parseSpec(input: unknown, source = 'deployment file'): DeploymentSpec {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw badFile(source, ['(top level): expected a mapping with node and workloads']);
  }
  const top = topSchema.safeParse(input);
  if (!top.success) throw badFile(source, issues(top.error));
  const problems: string[] = [];
  const workloads: WorkloadSpec[] = [];
  const seen = new Map<string, number>();
  top.data.workloads.forEach((raw, i) => {
    const kind = WORKLOAD_KINDS[raw.type as WorkloadKind];
    if (!Object.hasOwn(WORKLOAD_KINDS, raw.type) || !kind) {
      problems.push(`workloads[${i}].type: unknown workload type ${JSON.stringify(raw.type)} (supported: ${KIND_NAMES.join(', ')})`);
      return;
    }
    const w = kind.schema.safeParse(raw);
    if (!w.success) {
      problems.push(...issues(w.error, ['workloads', i]));
      return;
    }
    if ('mounts' in w.data) {
      w.data.mounts.forEach((m, j) => {
        const disk = top.data.workloads.find((o) => o.name === m.name);
        if (!disk || !['zmount', 'disk', 'volume'].includes(disk.type)) {
          problems.push(`workloads[${i}].mounts[${j}].name: no zmount, disk or volume named ${JSON.stringify(m.name)} in this file`);
        }
      });
    }
    const first = seen.get(w.data.name);
    if (first !== undefined) problems.push(`workloads[${i}].name: ${JSON.stringify(w.data.name)} is already used by workloads[${first}]`);
    seen.set(w.data.name, i);
    workloads.push({ name: w.data.name, description: w.data.description, type: kind.wireType, data: (kind.data as (d: typeof w.data) => Record<string, unknown>)(w.data) });
  });
  if (problems.length) throw badFile(source, problems);
  return { node: top.data.node ?? null, name: top.data.name ?? '', description: top.data.description, workloads };
}

function badFile(source: string, problems: string[]): CliError {
  return new CliError(CliErrorCode.badFile, `${source} is not a valid deployment:\n  ${problems.join('\n  ')}`,
    'see examples/*.yaml for the format (node, name, workloads: [{name, type, ...}])');
}

/** Reads and validates a .yaml/.yml/.json deployment file. */
export async function loadSpecFile(path: string): Promise<DeploymentSpec> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CliError(CliErrorCode.badFile, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'check the file path');
  }
  let doc: unknown;
  try {
    doc = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text, { prettyErrors: true });
  } catch (err) {
    throw new CliError(CliErrorCode.badFile, `${path} is not valid ${extname(path).toLowerCase() === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
  return parseSpec(doc, path);
}
