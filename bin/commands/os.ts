import type { Command } from 'commander';
import { z } from 'zod';

const list = (v: string, prev: string[] = []) => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

const runSchema = z.object({
  image: z.string().min(1),
  farm: z.coerce.number({ message: '--farm is required' }).int().positive('--farm must be a farm id'),
  chain: z.array(z.string().regex(/^wss?:\/\//, 'chain URLs must be ws:// or wss://')).min(1, '--chain is required').default([]),
  relay: z.array(z.string().regex(/^wss?:\/\//, 'relay URLs must be ws:// or wss://')).min(1, '--relay is required').default([]),
  activationUrl: z.string().url().optional(),
  cacheDisk: z.string().optional(),
  memory: z.coerce.number().int().min(2304, '--memory must be at least 2304 (MB): tfchain refuses nodes with less than 2 GiB'),
  net: z.string(),
  logLevel: z.string(),
  hub: z.string().regex(/^https?:\/\//, '--hub must be an http:// or https:// URL').optional(),
  releaseCheck: z.coerce.number().int().min(1, '--release-check must be at least 1 (seconds)'),
});

/** `zos os build|run`: the node as an operating system image (see os/ and README "The OS image"). */
export function register(program: Command): void {
  const os = program.command('os').description('the Zero-OS image: build it, boot it in QEMU');

  os.command('build')
    .description('build the OS image: kernel + initramfs whose root is a content-addressed image (no shell), verified at boot')
    .option('--out <dir>', 'output directory (vmlinuz, initrd.img, boot.json, store/)', 'dist/os')
    .option('--release <label>', 'release label written to /etc/zos-release (default: the package version)')
    .action(async (o: { out: string; release?: string }) => {
      const { buildOs } = await import('../../os/build.ts');
      const t0 = performance.now();
      const info = await buildOs({ out: o.out, release: o.release, log: (m) => process.stderr.write(`[os build] ${m}\n`) });
      process.stderr.write(`[os build] done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
      process.stdout.write(`${JSON.stringify({ out: o.out, digest: `blake3:${info.digest}`, release: info.release, kernel: info.kernel, files: info.files, bytes: info.bytes, initrdBytes: info.initrdBytes, programs: info.programs }, null, 2)}\n`);
    });

  os.command('run')
    .description('boot the built image in QEMU (user-mode networking, no host forward); prints `ready node N twin T` once registered')
    .option('--image <dir>', 'built image directory (zos os build --out)', 'dist/os')
    .option('--farm <id>', 'farm id to register in (required)')
    .option('--chain <urls>', 'tfchain WebSocket URL(s) as the host sees them (loopback becomes 10.0.2.2 in the guest)', list)
    .option('--relay <urls>', 'relay URL(s) as the host sees them; a local relay must also serve the domain 10.0.2.2', list)
    .option('--activation-url <url>', 'activation service that funds the new node account')
    .option('--cache-disk <file>', 'cache disk image (created sparse, 16 GiB, when missing; blank = new node)', '')
    .option('--memory <mb>', 'guest memory in MB (tfchain needs a node to have at least 2 GiB)', '3072')
    .option('--net <mode>', 'dhcp, or static:<addr>/<len>,<gateway>[,<dns>]', 'dhcp')
    .option('--log-level <level>', 'node daemon log level on the console', 'warn')
    .option('--hub <url>', 'image store the node pulls releases named on chain (ZosVersion) from, e.g. `zos image serve`; none: no upgrades')
    .option('--release-check <seconds>', 'seconds between checks of the release on chain', '600')
    .action(async (raw: Record<string, unknown>) => {
      const parsed = runSchema.safeParse(raw);
      if (!parsed.success) {
        process.stderr.write(`zos os run: ${parsed.error.issues.map((i) => i.message).join('; ')}\n`);
        process.exit(2);
      }
      const o = parsed.data;
      const { bootOs, BootRefusedError } = await import('../../os/run.ts');
      const { parseNet } = await import('../../os/init/config.ts');
      const { join } = await import('node:path');
      const vm = await bootOs({
        image: o.image, farm: o.farm, chain: o.chain, relay: o.relay, activation: o.activationUrl,
        cacheDisk: o.cacheDisk || join(o.image, 'cache.raw'), memoryMb: o.memory, net: parseNet(o.net), logLevel: o.logLevel,
        hub: o.hub, releaseCheckS: o.releaseCheck,
        onConsole: (l) => process.stderr.write(`${l}\n`),
      });
      const stop = () => void vm.stop().then(() => process.exit(130));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        const { nodeId, twinId } = await vm.ready;
        process.stdout.write(`ready node ${nodeId} twin ${twinId}\n`);
      } catch (err) {
        process.stderr.write(`zos os run: ${err instanceof BootRefusedError ? `boot refused: ${err.message}` : (err as Error).message}\n`);
        await vm.stop();
        process.exit(1);
      }
      const code = (await vm.proc).exitCode;
      process.exit(code ?? 1);
    });
}
