import { z } from 'zod';

/**
 * The node's KYC check of a deployer (zos `GET {kyc}/api/v1/status?twin_id=N`, needs
 * `result.status == "VERIFIED"`). 404 means not verified; any other failure is an error, so a
 * broken KYC service refuses deployments rather than letting them through.
 */
export type KycCheck = (twinId: number) => Promise<boolean>;

const answer = z.object({ result: z.object({ status: z.string() }) });

export function kycCheck(baseUrl: string, timeoutMs = 10_000): KycCheck {
  const base = baseUrl.replace(/\/+$/, '');
  return async (twinId) => {
    const url = `${base}/api/v1/status?twin_id=${twinId}`;
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new Error(`failed to check the KYC status of twin ${twinId}: ${(err as Error).message}`, { cause: err });
    }
    if (res.status === 404) return false;
    if (!res.ok) throw new Error(`failed to check the KYC status of twin ${twinId}: ${res.status} ${(await res.text()).slice(0, 200)}`);
    const parsed = answer.safeParse(await res.json().catch(() => null));
    if (!parsed.success) throw new Error(`failed to check the KYC status of twin ${twinId}: unexpected answer from ${base}`);
    return parsed.data.result.status === 'VERIFIED';
  };
}
