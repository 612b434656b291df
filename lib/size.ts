// The one size grammar of the CLI: deployment files (`size: 10GiB`) and flags (`--pool-size 128G`).
import { z } from 'zod';

const UNITS: Record<string, number> = { b: 1, k: 2 ** 10, kib: 2 ** 10, m: 2 ** 20, mib: 2 ** 20, g: 2 ** 30, gib: 2 ** 30, t: 2 ** 40, tib: 2 ** 40 };
const SIZE = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i;
export const SIZE_HINT = 'expected a size like 10GiB (units B, KiB, MiB, GiB, TiB)';

/**
 * "10GiB" / "512 MiB" / "1G" / "4096" / 1073741824 -> bytes; null when it is not a positive whole
 * size. Units are binary; "GB" is refused rather than guessed.
 */
export function parseSize(input: unknown): number | null {
  if (typeof input === 'number') return Number.isSafeInteger(input) && input > 0 ? input : null;
  if (typeof input !== 'string') return null;
  const m = SIZE.exec(input);
  const unit = m && UNITS[(m[2] || 'b').toLowerCase()];
  if (!m || !unit) return null;
  const bytes = Number(m[1]) * unit;
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : null;
}

/** A size in bytes, parsed from any value parseSize takes; `what` names it in the error (a flag). */
export const sizeSchema = (what?: string) =>
  z.unknown().transform((v, ctx) => {
    const bytes = parseSize(v);
    if (bytes === null) {
      ctx.addIssue({ code: 'custom', message: `${what ? `${what}: ` : ''}${SIZE_HINT}, got ${JSON.stringify(v)}` });
      return z.NEVER;
    }
    return bytes;
  });

/** Bytes as the largest binary unit that divides them: 137438953472 -> "128GiB". */
export function formatSize(bytes: number): string {
  for (const [unit, n] of [['TiB', 2 ** 40], ['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (bytes >= n && bytes % n === 0) return `${bytes / n}${unit}`;
  }
  return `${bytes}B`;
}
