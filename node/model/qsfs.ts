import { z } from 'zod';
import { encodeHex } from './goformat.ts';
import { goArray, goHexBytes, goString, goStruct, goUint } from './gojson.ts';
import { GiB, type WorkloadModel } from './model.ts';

const encryptionSchema = goStruct({ algorithm: goString(), key: goHexBytes() });
const zdbBackendSchema = goStruct({ address: goString(), namespace: goString(), password: goString() });

export const qsfsSchema = goStruct({
  cache: goUint(64),
  config: goStruct({
    minimal_shards: goUint(32),
    expected_shards: goUint(32),
    redundant_groups: goUint(32),
    redundant_nodes: goUint(32),
    max_zdb_data_dir_size: goUint(32),
    encryption: encryptionSchema,
    meta: goStruct({
      type: goString(),
      config: goStruct({ prefix: goString(), encryption: encryptionSchema, backends: goArray(zdbBackendSchema) }),
    }),
    groups: goArray(goStruct({ backends: goArray(zdbBackendSchema) })),
    compression: goStruct({ algorithm: goString() }),
  }),
});
export type Qsfs = z.infer<typeof qsfsSchema>;

export interface QsfsResult {
  path: string;
  metrics_endpoint: string;
}

type Backend = z.infer<typeof zdbBackendSchema>;
const backendsChallenge = (bs: readonly Backend[]) => bs.map((b) => `${b.address}${b.namespace}${b.password}`).join('');
const encryptionChallenge = (e: { algorithm: string; key: Uint8Array }) => `${e.algorithm}${encodeHex(e.key)}`;

/** Quantum-safe filesystem over zdb backends. */
export const qsfs: WorkloadModel<Qsfs> = {
  type: 'qsfs',
  schema: qsfsSchema,
  challenge: ({ cache, config: c }) =>
    `${cache}${c.minimal_shards}${c.expected_shards}${c.redundant_groups}${c.redundant_nodes}${c.max_zdb_data_dir_size}` +
    encryptionChallenge(c.encryption) +
    c.meta.type +
    c.meta.config.prefix +
    encryptionChallenge(c.meta.config.encryption) +
    backendsChallenge(c.meta.config.backends) +
    c.groups.map((g) => backendsChallenge(g.backends)).join('') +
    c.compression.algorithm,
  capacity: (d) => ({ cru: 1, mru: 1 * GiB, sru: d.cache, hru: 0, ipv4u: 0 }),
  validate: (d) =>
    d.config.minimal_shards > d.config.expected_shards
      ? "minimal shards can't be greater than expected shards"
      : undefined,
  updatable: true,
  pausable: false,
  sharable: false,
};
