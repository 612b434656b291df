import { decodeAddress } from '@polkadot/util-crypto';

/**
 * A KYC status service shaped like ThreeFold's: `GET /api/v1/status?client_id=SS58` (what
 * grid_client asks) or `?twin_id=N` (what zos nodes ask). A verified account answers
 * `{"result":{"status":"VERIFIED"}}`, an unverified or unknown one 404 (grid_client reads that
 * as UNVERIFIED). On a dev grid every account is verified unless a list is given.
 */
export class Kyc {
  private readonly verified: Set<string> | null;

  /** `verified` null: everyone is verified (a dev grid). `accountOf` maps a twin to its SS58 account. */
  constructor(
    verified: readonly string[] | null,
    private readonly accountOf: (twinId: number) => Promise<string | null>,
  ) {
    this.verified = verified ? new Set(verified.map((a) => Kyc.key(a))) : null;
  }

  private static key(address: string): string {
    return Buffer.from(decodeAddress(address)).toString('hex');
  }

  async status(q: URLSearchParams): Promise<{ status: number; body: unknown }> {
    const clientId = q.get('client_id');
    const twinId = q.get('twin_id');
    let address: string;
    if (clientId) {
      address = clientId;
    } else if (twinId) {
      if (!/^\d+$/.test(twinId)) return { status: 400, body: { error: `invalid twin_id: ${JSON.stringify(twinId)}` } };
      const account = await this.accountOf(Number(twinId));
      if (!account) return { status: 404, body: { error: `twin ${twinId} not found` } };
      address = account;
    } else {
      return { status: 400, body: { error: 'missing client_id (or twin_id)' } };
    }
    let key: string;
    try {
      key = Kyc.key(address);
    } catch {
      return { status: 400, body: { error: `invalid client_id: ${JSON.stringify(address)} is not an SS58 address` } };
    }
    if (this.verified && !this.verified.has(key)) return { status: 404, body: { error: 'verification not found' } };
    return { status: 200, body: { result: { status: 'VERIFIED' } } };
  }
}
