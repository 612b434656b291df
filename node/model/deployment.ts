// gridtypes.Deployment: schema, challenge/hash (what the contract and the signatures bind)
// and structural validation. Signatures live in signature.ts, upgrades in upgrade.ts.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { zosErrors } from '../errors.ts';
import { goArray, goBool, goString, goStruct, goTimestamp, goUint } from './gojson.ts';
import { zodMessage } from '../../lib/zod-issues.ts';
import { contextOf, type WorkloadRef } from './model.ts';
import { parseWorkloadData, validateName, workloadChallenge, workloadModel, workloadSchema } from './workload.ts';

export const SIGNATURE_STYLE_POLKA = 'polka-wallet';

export const signatureRequestSchema = goStruct({ twin_id: goUint(32), required: goBool(), weight: goUint(64) });
export const signatureSchema = goStruct({ twin_id: goUint(32), signature: goString(), signature_type: goString() });
export const signatureRequirementSchema = goStruct({
  requests: goArray(signatureRequestSchema),
  weight_required: goUint(64),
  signatures: goArray(signatureSchema),
  signature_style: goString(),
});

export const deploymentSchema = goStruct({
  version: goUint(32),
  twin_id: goUint(32),
  contract_id: goUint(64),
  metadata: goString(),
  description: goString(),
  /** Deprecated, unused, but hashed. */
  expiration: goTimestamp(),
  signature_requirement: signatureRequirementSchema,
  workloads: goArray(workloadSchema),
});

export type Deployment = z.infer<typeof deploymentSchema>;
export type SignatureRequirement = z.infer<typeof signatureRequirementSchema>;
export type SignatureRequest = z.infer<typeof signatureRequestSchema>;
export type Signature = z.infer<typeof signatureSchema>;

/** Parse an untrusted deployment (RMB payload); throws ZosError(BAD_REQUEST). */
export function parseDeployment(input: unknown): Deployment {
  const r = deploymentSchema.safeParse(input);
  if (!r.success) throw zosErrors.badRequest(`invalid deployment: ${zodMessage(r.error)}`, r.error);
  return r.data;
}

function requirementChallenge(sr: SignatureRequirement): string {
  const requests = sr.requests.map((r) => `${r.twin_id}${r.required}${r.weight}`).join('');
  return `${requests}${sr.weight_required}${sr.signature_style}`;
}

/** The challenge text: contract_id, results and signatures are excluded. Throws on undecodable data. */
export function challenge(dl: Deployment): string {
  return (
    `${dl.version}${dl.twin_id}${dl.metadata}${dl.description}${dl.expiration}` +
    dl.workloads.map(workloadChallenge).join('') +
    requirementChallenge(dl.signature_requirement)
  );
}

/** md5 of the challenge: the 16 bytes that get signed. */
export function challengeHash(dl: Deployment): Uint8Array {
  return new Uint8Array(createHash('md5').update(challenge(dl), 'utf8').digest());
}

/** Lowercase hex of challengeHash: the 32 ASCII bytes a NodeContract's deployment_hash holds. */
export function hashHex(dl: Deployment): string {
  return Buffer.from(challengeHash(dl)).toString('hex');
}

export function workloadRefs(dl: Deployment): WorkloadRef[] {
  return dl.workloads.map((w) => ({ name: w.name, type: w.type, data: w.data }));
}

/**
 * Deployment.Valid(): per workload in order — version not above the deployment's, a valid
 * unique name, a known type, decodable data, then the type's own checks. Throws ZosError(INVALID_DEPLOYMENT).
 */
export function validateDeployment(dl: Deployment): void {
  const names = new Set<string>();
  const ctx = contextOf(workloadRefs(dl));
  for (const wl of dl.workloads) {
    if (wl.version > dl.version) {
      throw zosErrors.invalidDeployment(
        `workload '${wl.name}' version '${wl.version}' cannot be higher than deployment version '${dl.version}'`,
      );
    }
    const nameErr = validateName(wl.name);
    if (nameErr) throw zosErrors.invalidDeployment(`name '${wl.name}' is invalid: ${nameErr}`);
    if (names.has(wl.name)) throw zosErrors.invalidDeployment(`multiple workloads with the same name '${wl.name}'`);
    names.add(wl.name);
    const model = workloadModel(wl.type);
    const data = parseWorkloadData(wl);
    const err = model.validate(data, ctx);
    if (err) throw zosErrors.invalidDeployment(err);
  }
}
