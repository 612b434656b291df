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

/** Workload kinds a file may use: the zos wire type, and the data it carries. */
export const WORKLOAD_KINDS = {
  zmount: { wireType: 'zmount', schema: sized, data: (w: z.infer<typeof sized>) => ({ size: w.size }) },
  disk: { wireType: 'zmount', schema: sized, data: (w: z.infer<typeof sized>) => ({ size: w.size }) },
  volume: { wireType: 'volume', schema: sized, data: (w: z.infer<typeof sized>) => ({ size: w.size }) },
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
    const first = seen.get(w.data.name);
    if (first !== undefined) problems.push(`workloads[${i}].name: ${JSON.stringify(w.data.name)} is already used by workloads[${first}]`);
    seen.set(w.data.name, i);
    workloads.push({ name: w.data.name, description: w.data.description, type: kind.wireType, data: kind.data(w.data) });
  });
  if (problems.length) throw badFile(source, problems);
  return { node: top.data.node ?? null, name: top.data.name ?? '', description: top.data.description, workloads };
}

function badFile(source: string, problems: string[]): CliError {
  return new CliError(CliErrorCode.badFile, `${source} is not a valid deployment:\n  ${problems.join('\n  ')}`,
    'see examples/*.yaml for the format (node, name, workloads: [{name, type, size}])');
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
