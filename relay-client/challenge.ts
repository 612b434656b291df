import { createHash } from 'node:crypto';
import type { Address, Envelope } from '../rmb/envelope.ts';

/**
 * The bytes an envelope signature covers (reference §3): MD5 over the items below, in order,
 * with no separators. Numbers are decimal strings; the payload is the raw wire bytes.
 */
export function challenge(e: Envelope): Uint8Array {
  const h = createHash('md5');
  h.update(e.uid);
  if (e.tags !== undefined) h.update(e.tags);
  h.update(String(e.timestamp));
  h.update(String(e.expiration));
  // Rust hashes "0" for a missing address, Go nothing; we always sign with both set.
  hashAddress(h, e.source);
  hashAddress(h, e.destination);
  const m = e.message;
  if (m?.kind === 'request') h.update(m.command);
  else if (m?.kind === 'error') {
    h.update(String(m.code));
    h.update(m.message);
  }
  if (e.schema !== undefined) h.update(e.schema);
  if (e.federation !== undefined) h.update(e.federation);
  if (e.payload) h.update(e.payload.data);
  for (const r of e.relays) h.update(r);
  return new Uint8Array(h.digest());
}

function hashAddress(h: ReturnType<typeof createHash>, a: Address | undefined): void {
  if (!a) return;
  h.update(String(a.twin));
  if (a.connection !== undefined) h.update(a.connection);
}
