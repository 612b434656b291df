import { setTimeout as sleep } from 'node:timers/promises';
import { parseReleaseRef, ReleaseRefError } from './release.ts';
import type { SlotName, Slots } from './slots.ts';
import { stageRelease } from './stage.ts';

/**
 * Follows the release reference on chain (TfgridModule.ZosVersion). Polled rather than driven by
 * ZosVersionUpdated events: the value is what counts, a check after a restart needs no event
 * history, and a release that failed (hub away, tampered image) is simply tried again next time.
 * zos checks hourly; the default here is every 10 minutes (zos_release_check).
 */
export interface FollowOptions {
  /** Reads TfgridModule.ZosVersion. */
  zosVersion: () => Promise<string>;
  hub: string;
  imagesDir: string;
  slots: Slots;
  running: { digest: string; release: string; slot?: SlotName };
  everyMs: number;
  /** A console line (people and tests read the outcome there). */
  say: (line: string) => void;
  signal?: AbortSignal;
}

export async function followReleases(o: FollowOptions): Promise<void> {
  let ignored = '';
  while (!o.signal?.aborted) {
    const text = await o.zosVersion().catch((err: Error) => {
      o.say(`release check: cannot read ZosVersion: ${err.message}`);
      return undefined;
    });
    if (text) {
      try {
        const ref = parseReleaseRef(text);
        if (ref.digest !== o.running.digest && !(await staged(o.slots, ref.digest))) {
          o.say(`release ${ref.version} (blake3:${ref.digest}) named on chain: pulling from ${o.hub}`);
          try {
            const slot = await stageRelease({ ref, hub: o.hub, imagesDir: o.imagesDir, slots: o.slots, running: o.running.slot });
            o.say(`release ${ref.version} (blake3:${ref.digest}) verified and staged in slot ${slot}: it boots next time`);
          } catch (err) {
            o.say(`release ${ref.version} (blake3:${ref.digest}) refused: ${(err as Error).message}; release ${o.running.release} keeps running`);
          }
        }
      } catch (err) {
        if (!(err instanceof ReleaseRefError)) throw err;
        if (text !== ignored) o.say(`release check: ${err.message}; ignored`);
        ignored = text;
      }
    }
    await sleep(o.everyMs, undefined, { signal: o.signal }).catch(() => undefined);
  }
}

/**
 * A slot already holds this release. One that failed to come up (MAX_ATTEMPTS) counts too: it is
 * not staged again (that would reset its attempts and could overwrite the fallback) until the
 * chain names another release.
 */
async function staged(slots: Slots, digest: string): Promise<boolean> {
  return (await slots.list()).some((s) => s.record.digest === digest);
}
