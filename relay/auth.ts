import type { Address } from '../rmb/envelope.ts';
import { JwtError, parseJwt, verifyJwt } from '../rmb/jwt.ts';
import type { TwinDirectory } from '../rmb/twins.ts';
import { RelayHttpError } from './errors.ts';

/**
 * WebSocket upgrade authentication (reference §1): the whole query string is the JWT. Parse,
 * reject when now > exp, look the twin up, verify against its account id.
 */
export type AuthResult = { ok: true; address: Address } | { ok: false; status: number; body: string; reason: string };

/** Clock skew tolerated on `iat`. */
export const JWT_MAX_SKEW_S = 60;

/**
 * Beyond rmb-rs (which leaves `iat` unchecked): a token issued in the future or living longer
 * than `maxLifetimeS` is refused, so a leaked token is not valid for years. Clients use 60 s
 * (Go), 300 s (rmb-peer) and 1000 s (TS).
 */
export async function authenticate(
  query: string | null,
  twins: TwinDirectory,
  nowS: number,
  maxLifetimeS: number,
): Promise<AuthResult> {
  if (!query) return { ok: false, status: 400, body: RelayHttpError.missingJwt, reason: 'missing_jwt' };
  let parsed;
  try {
    parsed = parseJwt(decodeURIComponent(query));
    if (nowS > parsed.claims.exp) throw new JwtError('token expired');
    if (parsed.claims.iat > nowS + JWT_MAX_SKEW_S) throw new JwtError('token issued in the future');
    if (parsed.claims.exp - parsed.claims.iat > maxLifetimeS) throw new JwtError(`token lifetime over ${maxLifetimeS} s`);
  } catch (err) {
    return { ok: false, status: 401, body: RelayHttpError.invalidJwt((err as Error).message), reason: 'invalid_jwt' };
  }
  const { sub, sid } = parsed.claims;
  let twin;
  try {
    twin = await twins.getTwin(sub);
  } catch (err) {
    return { ok: false, status: 500, body: `failed to get twin: ${(err as Error).message}`, reason: 'chain_error' };
  }
  if (!twin) return { ok: false, status: 401, body: RelayHttpError.twinNotFound(sub), reason: 'unknown_twin' };
  try {
    verifyJwt(parsed, twin.accountId, nowS);
  } catch (err) {
    return { ok: false, status: 401, body: RelayHttpError.invalidJwt((err as Error).message), reason: 'invalid_jwt' };
  }
  return { ok: true, address: sid === undefined ? { twin: sub } : { twin: sub, connection: sid } };
}
