// Deployment signatures (gridtypes Deployment.Verify / Sign). The signed message is the 16-byte
// challenge hash, or the ASCII `<Bytes>{hex}</Bytes>` with the polka-wallet style.
import { sr25519_verify } from '@polkadot-labs/schnorrkel-wasm';
import { ed25519Verify } from '../../rmb/ed25519.ts';
import { zosErrors, wrapMessage } from '../errors.ts';
import { decodeHex } from './goformat.ts';
import { challengeHash, SIGNATURE_STYLE_POLKA, type Deployment } from './deployment.ts';

export type SignatureType = 'sr25519' | 'ed25519';

/** What a client signs with; a @polkadot/keyring KeyringPair of type sr25519/ed25519 fits. */
export interface DeploymentSigner {
  readonly type: string;
  sign(message: Uint8Array): Uint8Array;
}

/** The exact bytes a signature covers for this deployment. */
export function signedMessage(dl: Deployment): Uint8Array {
  const hash = challengeHash(dl);
  if (dl.signature_requirement.signature_style !== SIGNATURE_STYLE_POLKA) return hash;
  return new TextEncoder().encode(`<Bytes>${Buffer.from(hash).toString('hex')}</Bytes>`);
}

/** Go copies key and signature into fixed arrays, padding or truncating. */
function fixed(b: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  out.set(b.subarray(0, n));
  return out;
}

function verifyOne(type: string, message: Uint8Array, sig: Uint8Array, pk: Uint8Array): boolean {
  try {
    if (type === 'sr25519') return sr25519_verify(fixed(pk, 32), message, fixed(sig, 64));
    // Anything other than sr25519, including "", is ed25519.
    if (pk.length !== 32 || sig.length !== 64) return false;
    return ed25519Verify(sig, message, pk);
  } catch {
    return false;
  }
}

/**
 * Verify per zos: every request is checked (the originator's is forced required), keys come from
 * `getTwinAccountId`, the originator must be listed, and the summed weight must reach
 * `weight_required`. Throws ZosError(INVALID_SIGNATURE) with zos' text.
 */
export async function verifySignatures(
  dl: Deployment,
  getTwinAccountId: (twin: number) => Promise<Uint8Array>,
): Promise<void> {
  const sr = dl.signature_requirement;
  const message = signedMessage(dl);
  let originatorFound = false;
  let weight = 0;
  for (const request of sr.requests) {
    let required = request.required;
    if (request.twin_id === dl.twin_id) {
      originatorFound = true;
      required = true;
    }
    const signature = sr.signatures.find((s) => s.twin_id === request.twin_id);
    if (!signature && required) {
      throw zosErrors.invalidSignature(`missing required signature for twin '${request.twin_id}'`);
    }
    let pk: Uint8Array;
    try {
      pk = await getTwinAccountId(request.twin_id);
    } catch (e) {
      throw zosErrors.invalidSignature(wrapMessage(`failed to get public key for twin '${request.twin_id}'`, e), e);
    }
    // An unsigned optional request still reaches here: the empty signature never verifies.
    const sig = decodeHex(signature?.signature ?? '');
    if (typeof sig === 'string') throw zosErrors.invalidSignature(`invalid signature: ${sig}`);
    if (!verifyOne(signature?.signature_type ?? '', message, sig, pk)) {
      throw zosErrors.invalidSignature('failed to verify signature');
    }
    weight += request.weight;
  }
  if (!originatorFound) throw zosErrors.invalidSignature('originator twin id must be in the signature requests');
  if (weight < sr.weight_required) throw zosErrors.invalidSignature('required signature weight is not reached');
}

/**
 * Return a copy of `dl` signed by `twin` (replacing that twin's previous signature). `style`
 * sets signature_style first, since the style is part of the hash.
 */
export function sign(dl: Deployment, twin: number, signer: DeploymentSigner, style?: '' | 'polka-wallet'): Deployment {
  if (signer.type !== 'sr25519' && signer.type !== 'ed25519') {
    throw zosErrors.badRequest(`unsupported signature type '${signer.type}'`);
  }
  const sr = { ...dl.signature_requirement, signature_style: style ?? dl.signature_requirement.signature_style };
  const next: Deployment = { ...dl, signature_requirement: sr };
  const signature = Buffer.from(signer.sign(signedMessage(next))).toString('hex');
  const entry = { twin_id: twin, signature, signature_type: signer.type };
  const others = sr.signatures.filter((s) => s.twin_id !== twin);
  return { ...next, signature_requirement: { ...sr, signatures: [...others, entry] } };
}
