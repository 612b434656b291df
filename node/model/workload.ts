// The workload envelope (gridtypes.Workload): name rules, parse of the typed data and the
// workload part of the challenge. `data` stays the raw JSON value the client sent.
import { z } from 'zod';
import { zosErrors } from '../errors.ts';
import { goString, goStruct, goTimestamp, goUint } from './gojson.ts';
import { zodMessage } from '../../lib/zod-issues.ts';
import { modelOf, type WorkloadData, type WorkloadType } from './types.ts';
import type { WorkloadModel } from './model.ts';

export const RESULT_STATES = ['init', 'unchanged', 'error', 'ok', 'deleted', 'paused'] as const;
export type ResultState = (typeof RESULT_STATES)[number];

/** The host holds something for a workload in this state (it counts in used capacity, it is adopted at start). */
export function holdsResources(state: ResultState | ''): boolean {
  return state === 'ok' || state === 'paused';
}

/** Neither deleted nor failed: the engine still acts on it (zos Deployment.IsActive counts these). */
export function isActive(state: ResultState | ''): boolean {
  return state !== 'deleted' && state !== 'error';
}

export const resultSchema = goStruct({
  created: goTimestamp(),
  /** "" only on incoming deployments (clients send an empty result). */
  state: goString().pipe(z.enum([...RESULT_STATES, ''])),
  message: goString(),
  data: z.preprocess((v) => v ?? null, z.unknown()),
});
export type Result = z.infer<typeof resultSchema>;

export const workloadSchema = goStruct({
  version: goUint(32),
  name: goString(),
  type: goString(),
  /** Raw JSON; typed by the workload type's schema (see parseWorkloadData). */
  data: z.unknown(),
  metadata: goString(),
  description: goString(),
  result: resultSchema,
});
export type Workload = z.infer<typeof workloadSchema>;

const NAME = /^[a-zA-Z0-9_]+$/;
const RESERVED_NAMES = ['ygg'];

/** gridtypes.IsValidName, with zos' texts. */
export function validateName(n: string): string | undefined {
  if (n.length === 0) return 'name cannot be empty';
  // max virtio-fs tag length used by cloud-hypervisor
  if (n.length > 36) return 'name cannot exceed 36 characters';
  if (!NAME.test(n)) return 'unsupported character in workload name';
  if (RESERVED_NAMES.includes(n)) return `invalid name '${n}' is reserved`;
  return undefined;
}

/** Go type names zos prints in data decode errors. */
const GO_TYPES: Record<string, string> = {
  zmount: 'ZMount',
  volume: 'Volume',
  zdb: 'ZDB',
  network: 'Network',
  'network-light': 'NetworkLight',
  zmachine: 'ZMachine',
  'zmachine-light': 'ZMachineLight',
  ipv4: 'PublicIP4',
  ip: 'PublicIP',
  'gateway-name-proxy': 'GatewayNameProxy',
  'gateway-fqdn-proxy': 'GatewayFQDNProxy',
  qsfs: 'QuantumSafeFS',
  zlogs: 'ZLogs',
};

export function workloadModel(type: string): WorkloadModel<unknown> {
  const model = modelOf(type);
  if (!model) throw zosErrors.invalidDeployment(`invalid reservation type '${type}'`);
  return model;
}

/** Decode `wl.data` with its type's strict schema; throws ZosError(INVALID_DEPLOYMENT). */
export function parseWorkloadData(wl: Pick<Workload, 'type' | 'data'>): WorkloadData<WorkloadType> {
  const model = workloadModel(wl.type);
  const prefix = `failed to load data into object of type '*zos.${GO_TYPES[wl.type]}'`;
  // Go's json.RawMessage is empty when the key is missing, which fails to decode.
  if (wl.data === undefined) throw zosErrors.invalidDeployment(`${prefix}: unexpected end of JSON input`);
  const parsed = model.schema.safeParse(wl.data);
  if (!parsed.success) throw zosErrors.invalidDeployment(`${prefix}: ${zodMessage(parsed.error)}`, parsed.error);
  // modelOf erases the data type; the schema that parsed it is the one of wl.type.
  return parsed.data as WorkloadData<WorkloadType>;
}

/** Workload challenge: version, name, type, metadata, description, then the data challenge. `result` is excluded. */
export function workloadChallenge(wl: Workload): string {
  const data = parseWorkloadData(wl);
  return `${wl.version}${wl.name}${wl.type}${wl.metadata}${wl.description}${workloadModel(wl.type).challenge(data)}`;
}
