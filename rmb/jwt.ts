import { z } from 'zod';
import { signPrefixed, verifyPrefixed, type Signer } from './signature.ts';

/**
 * Relay auth token (reference §1): base64url(header).base64url(claims).base64url(type | sig),
 * no padding; the signature covers the ASCII "h.c" directly. `alg` is a fixed label "RS512".
 */
export interface JwtClaims {
  sub: number;
  iat: number;
  exp: number;
  sid?: string;
}

export class JwtError extends Error {
  readonly code = 'ERR_INVALID_JWT' as const;
}

const HEADER = { alg: 'RS512', typ: 'JWT' };
/** Go's TTL; the TS client uses 1000 s, rmb-peer 300 s. */
export const DEFAULT_JWT_TTL_S = 60;

const headerSchema = z.object({ alg: z.literal('RS512') }).loose();
const claimsSchema = z
  .object({
    sub: z.number().int().min(0).max(0xffffffff),
    iat: z.number().int().min(0),
    exp: z.number().int().min(0),
    sid: z.string().nullish(),
  })
  .loose();

const b64 = (b: Uint8Array | string) => Buffer.from(b).toString('base64url');

export function createJwt(signer: Signer, opts: { twin: number; sid?: string; nowS: number; ttlS?: number }): string {
  const claims: JwtClaims = { sub: opts.twin, iat: opts.nowS, exp: opts.nowS + (opts.ttlS ?? DEFAULT_JWT_TTL_S) };
  if (opts.sid !== undefined) claims.sid = opts.sid;
  const input = `${b64(JSON.stringify(HEADER))}.${b64(JSON.stringify(claims))}`;
  return `${input}.${b64(signPrefixed(signer, Buffer.from(input, 'ascii')))}`;
}

export interface ParsedJwt {
  claims: JwtClaims;
  signingInput: Uint8Array;
  signature: Uint8Array;
}

/** Parses without verifying the signature; throws JwtError on any malformed part. */
export function parseJwt(token: string): ParsedJwt {
  const parts = token.split('.');
  if (parts.length !== 3) throw new JwtError('expected 3 parts');
  const [h, c, s] = parts as [string, string, string];
  const header = headerSchema.safeParse(parseJsonPart(h, 'header'));
  if (!header.success) throw new JwtError('header alg must be RS512');
  const claims = claimsSchema.safeParse(parseJsonPart(c, 'claims'));
  if (!claims.success) throw new JwtError('bad claims');
  const { sub, iat, exp, sid } = claims.data;
  return {
    claims: sid == null ? { sub, iat, exp } : { sub, iat, exp, sid },
    signingInput: Buffer.from(`${h}.${c}`, 'ascii'),
    signature: new Uint8Array(Buffer.from(s, 'base64url')),
  };
}

function parseJsonPart(part: string, what: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new JwtError(`${what} is not base64url JSON`);
  }
}

/** rmb-rs semantics: expired when now > exp; iat unchecked; signature against the twin's account. */
export function verifyJwt(jwt: ParsedJwt, accountId: Uint8Array, nowS: number): void {
  if (nowS > jwt.claims.exp) throw new JwtError('token expired');
  if (!verifyPrefixed(jwt.signature, jwt.signingInput, accountId)) throw new JwtError('invalid signature');
}
