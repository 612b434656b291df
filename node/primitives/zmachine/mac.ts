import { createHash } from 'node:crypto';

/**
 * zos' MAC for a NIC (ifaceutil.HardwareAddrFromInputBytes): a 6-byte window of md5(input),
 * first byte made locally administered unicast; windows in a range zos reserves are skipped by
 * sliding the window, and when every window fails the (modified) digest is hashed again.
 */
export function macOf(input: string): string {
  let digest = createHash('md5').update(input, 'utf8').digest();
  for (;;) {
    for (let off = 0; off + 6 <= digest.length; off++) {
      digest[off] = (digest[off]! | 2) & 0xfe;
      const w = digest.subarray(off, off + 6);
      const tail = (w[3]! << 16) | (w[4]! << 8) | w[5]!;
      const head = (w[0]! << 8) | w[1]!;
      if (!(tail > 0x9000ff && head < 0x9002)) return [...w].map((b) => b.toString(16).padStart(2, '0')).join(':');
    }
    digest = createHash('md5').update(digest).digest();
  }
}
