import type { Command } from 'commander';

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
}
