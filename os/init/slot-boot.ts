import { readFile } from 'node:fs/promises';
import { run, runResult } from '../../node/host/exec.ts';
import { bootOrder, MAX_ATTEMPTS, type Slot, type Slots } from '../upgrade/slots.ts';
import type { BootConfig } from './config.ts';

/**
 * The boot medium's init hands over to the newest verified release on the cache disk, by kexec.
 *
 * Why kexec and not a switch of the root file system: a release carries its own kernel and
 * modules (one digest names the whole release), and a root switch would run the new release's
 * modules under the old kernel. Node, as PID 1, also cannot exec() a switch_root. kexec starts the
 * release's own kernel with its own initramfs, whose own init then runs the same verified boot as
 * from the boot medium (every file against the digest this init puts on the kernel command line),
 * and nothing of the old init is left behind (mounts, loaded modules, processes).
 *
 * Falling back: each kexec counts an attempt on the slot first; the release's node confirms its
 * slot once it is up. A slot that failed MAX_ATTEMPTS boots, or whose manifest or kernel does not
 * check out, is passed over: the next slot, else the boot medium's own release runs.
 */
export async function bootNewestSlot(cfg: BootConfig, slots: Slots, o: { say: (s: string) => void; unmountCache: () => Promise<void>; remountCache: () => Promise<void> }): Promise<void> {
  // A release started from a slot never chooses again: no kexec loops.
  if (cfg.slot) return;
  for (const slot of bootOrder(await slots.list())) {
    const { release, digest } = slot.record;
    // The boot medium itself carries the newest release.
    if (digest === cfg.root) return;
    try {
      await slots.check(slot);
    } catch (err) {
      o.say(`slot ${slot.name}: release ${release} refused: ${(err as Error).message}`);
      await slots.update(slot.name, (r) => ({ ...r, attempts: MAX_ATTEMPTS }));
      continue;
    }
    const { attempts } = await slots.update(slot.name, (r) => ({ ...r, attempts: r.attempts + 1 }));
    const cmdline = slotCommandLine(await readFile('/proc/cmdline', 'utf8'), slot);
    const loaded = await runResult('kexec', ['-l', slots.path(slot.name, 'vmlinuz'), `--initrd=${slots.path(slot.name, 'initrd.img')}`, `--append=${cmdline}`], { timeoutMs: 300_000 });
    if (loaded.exitCode !== 0) {
      o.say(`slot ${slot.name}: kexec cannot load release ${release}: ${loaded.stderr || `exit ${loaded.exitCode}`}`);
      continue;
    }
    o.say(`booting release ${release} (blake3:${digest}) from slot ${slot.name}, attempt ${attempts} of ${MAX_ATTEMPTS} (kexec)`);
    await o.unmountCache();
    const r = await runResult('kexec', ['-e']);
    // Only reached when the jump did not happen.
    await o.remountCache();
    o.say(`slot ${slot.name}: kexec failed: ${r.stderr || `exit ${r.exitCode}`}`);
    await run('kexec', ['-u']).catch(() => undefined);
  }
}

/** The kernel command line for a slot's release (pure): this one's, with its root digest and slot. */
export function slotCommandLine(current: string, slot: Slot): string {
  const words = current.trim().split(/\s+/).filter((w) => w && !/^zos_(root|slot)=/.test(w));
  return [...words, `zos_root=blake3:${slot.record.digest}`, `zos_slot=${slot.name}`].join(' ');
}
