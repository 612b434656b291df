import { verifyPrefixed } from './signature.ts';

/** A signature check on a worker thread (see verify-pool.ts). */
export interface VerifyJob {
  sig: Uint8Array;
  msg: Uint8Array;
  accountId: Uint8Array;
}

export function work(job: VerifyJob): boolean {
  return verifyPrefixed(job.sig, job.msg, job.accountId);
}
