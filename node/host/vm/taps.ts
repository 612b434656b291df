import type { Logger } from '../../../lib/log.ts';
import { run, runResult } from '../exec.ts';
import type { VmNic } from './spec.ts';

/**
 * A VM's tap devices. They are persistent (created here, not by QEMU) so a restarted QEMU finds
 * them again and the bridge membership survives; `bridge` (if set) is joined on creation.
 */
function ipArgs(nic: VmNic, args: string[]): string[] {
  return nic.netns ? ['-n', nic.netns, ...args] : args;
}

export async function ensureTap(nic: VmNic, log: Logger): Promise<void> {
  const exists = await runResult('ip', ipArgs(nic, ['link', 'show', 'dev', nic.tap]), { log });
  if (exists.exitCode !== 0) await run('ip', ipArgs(nic, ['tuntap', 'add', 'dev', nic.tap, 'mode', 'tap']), { log });
  if (nic.bridge) await run('ip', ipArgs(nic, ['link', 'set', 'dev', nic.tap, 'master', nic.bridge]), { log });
  await run('ip', ipArgs(nic, ['link', 'set', 'dev', nic.tap, 'up']), { log });
}

/** Remove the tap; a missing one is fine. */
export async function deleteTap(nic: VmNic, log: Logger): Promise<void> {
  await runResult('ip', ipArgs(nic, ['link', 'del', 'dev', nic.tap]), { log });
}
