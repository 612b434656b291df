import { decodeAddress } from '@polkadot/util-crypto';

/**
 * A KYC status service shaped like ThreeFold's (`GET /api/v1/status?client_id=SS58`): a
 * verified account answers `{"result":{"status":"VERIFIED"}}`, an unverified one 404 (which
 * grid_client reads as UNVERIFIED). On a dev grid every account is verified unless a list of
 * verified addresses is given.
 */
export class Kyc {
  private readonly verified: Set<string> | null;

  /** `verified` null: everyone is verified (a dev grid). */
  constructor(verified: readonly string[] | null = null) {
    this.verified = verified ? new Set(verified.map((a) => Kyc.key(a))) : null;
  }

  private static key(address: string): string {
    return Buffer.from(decodeAddress(address)).toString('hex');
  }

  status(clientId: string | null): { status: number; body: unknown } {
    if (!clientId) return { status: 400, body: { error: 'missing client_id' } };
    let key: string;
    try {
      key = Kyc.key(clientId);
    } catch {
      return { status: 400, body: { error: `invalid client_id: ${JSON.stringify(clientId)} is not an SS58 address` } };
    }
    if (this.verified && !this.verified.has(key)) return { status: 404, body: { error: 'verification not found' } };
    return { status: 200, body: { result: { status: 'VERIFIED' } } };
  }
}
