import type { Command } from 'commander';

/** `zos up`: a whole local grid in one command, until Ctrl-C (the work is in bin/grid/up-run.ts). */
export function register(program: Command): void {
  program
    .command('up')
    .description('run a whole local grid: devnet, relay, N nodes, a funded user and a sample VM on a private network (needs root); Ctrl-C stops and cleans up')
    .option('--data-dir <dir>', 'keep the grid here (chain, nodes, user mnemonic) across runs; a temp dir otherwise')
    .option('--nodes <n>', 'number of nodes', '1')
    .option('--chain-port <port>', 'devnet port (0 = any free port)', '9944')
    .option('--relay-port <port>', 'relay port (0 = any free port)', '8080')
    .option('--indexer-port <port>', 'indexer port: gridproxy REST, /graphql and KYC (0 = any free port)', '8081')
    .option('--image-port <port>', 'port serving the sample VM\'s image store on 127.0.0.1 (0 = any free port)', '8099')
    .option('--ssh-key <file.pub>', 'SSH public key let into the sample VM (default ~/.ssh/id_{ed25519,ecdsa,rsa}.pub, else one made in the data dir)')
    .option('--pool-size <size>', 'sparse storage pool image per node (tfchain needs >= 100G SRU)', '128G')
    .option('--refresh <seconds>', 'how often the grid state is refreshed', '3')
    .action(async (raw: Record<string, unknown>) => {
      const { runUp } = await import('../grid/up-run.ts');
      await runUp(raw);
    });
}
