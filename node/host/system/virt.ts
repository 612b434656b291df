/** Hypervisor and firmware facts from host tool output and EFI variables: pure, no I/O. */

/** virt-what prints one fact a line, outermost first; zos answers the first ("" on bare metal). */
export function parseVirtWhat(stdout: string): string {
  return stdout.trim().split(/\s+/)[0] ?? '';
}

/** systemd-detect-virt prints "none" (and exits 1) on bare metal. */
export function parseDetectVirt(stdout: string): string {
  const v = stdout.trim();
  return v === 'none' ? '' : v;
}

/**
 * The SecureBoot EFI variable: 4 attribute bytes then one data byte, 1 when secure boot is on
 * (zosbase pkg/capacity IsSecureBoot).
 */
export function parseSecureBootVar(bytes: Uint8Array): boolean {
  if (bytes.length !== 5) throw new Error('invalid efivar data for secure boot flag');
  return bytes[4] === 1;
}
