import { resolve } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { createLogger } from '../../lib/log.ts';
import { sizeSchema } from '../../lib/size.ts';
import { stopOnSignals } from '../../lib/shutdown.ts';
import { trimMallocPeriodically } from '../../lib/memory.ts';

const list = (v: string, prev: string[] = []) => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

const optionsSchema = z
  .object({
    chain: z.preprocess((v) => v ?? [], z.array(z.string().regex(/^wss?:\/\//, 'chain URLs must be ws:// or wss://')).min(1, '--chain is required')),
    relay: z.preprocess((v) => v ?? [], z.array(z.string().regex(/^wss?:\/\//, 'relay URLs must be ws:// or wss://')).min(1, '--relay is required')),
    farm: z.coerce.number({ message: '--farm is required' }).int().positive('--farm must be a farm id'),
    // Absolute: the pools it mounts are found under it again in /proc/mounts.
    dataDir: z.string().min(1).transform((d) => resolve(d)),
    seed: z.string().optional(),
    mnemonic: z.string().optional(),
    activationUrl: z.string().url().optional(),
    kycUrl: z.string().regex(/^https?:\/\//, '--kyc-url must be an http(s) URL').optional(),
    poolSize: sizeSchema('--pool-size'),
    uptimeMinutes: z.coerce.number().positive().optional(),
    nruMinutes: z.coerce.number().positive().optional(),
    dnsResolver: z.string().regex(/^(\d+\.\d+\.\d+\.\d+|\[[0-9a-fA-F:]+\]):\d+$/, '--dns-resolver takes ip:port').optional(),
    geoipUrl: z.preprocess((v) => v ?? [], z.array(z.string().url())),
    nrUplinks: z.string().regex(/^\d+\.\d+\.\d+\.\d+\/\d+$/, '--nr-uplinks must be an IPv4 network like 100.127.0.0/16').optional(),
    nrEgress: z.boolean(),
    adminTwins: z.preprocess((v) => v ?? [], z.array(z.coerce.number().int().positive('--admin-twins takes twin ids'))),
  })
  .refine((o) => !(o.seed && o.mnemonic), 'use --seed or --mnemonic, not both');

export function register(program: Command): void {
  program
    .command('node')
    .description('run the zos node daemon (outbound connections only: chain and relay)')
    .option('--chain <urls>', 'tfchain WebSocket URL(s), comma separated or repeated', list)
    .option('--relay <urls>', 'RMB relay URL(s), comma separated or repeated', list)
    .option('--farm <id>', 'farm id to register the node in (required)')
    .option('--data-dir <dir>', 'state directory (identity, engine, storage pools)', '/var/lib/zos')
    .option('--seed <hex>', 'ed25519 seed (32 bytes hex) instead of the one in the data dir')
    .option('--mnemonic <words>', 'mnemonic instead of a seed')
    .option('--activation-url <url>', 'activation service that funds a new account (POST {substrateAccountID})')
    .option('--kyc-url <url>', 'KYC service: each deployer must be verified (GET URL/api/v1/status?twin_id=N), as zos does; no check when absent')
    .option('--pool-size <size>', 'size of the default storage pool image (a sparse file; tfchain needs >= 100 GiB SRU)', '128G')
    .option('--uptime-minutes <n>', 'minutes between uptime reports', '40')
    .option('--nru-minutes <n>', 'minutes between public traffic (NRU) reports', '60')
    .option('--dns-resolver <ip:port>', 'DNS server that gateway FQDNs must resolve through to this node', '8.8.8.8:53')
    .option('--geoip-url <urls>', 'geoip service(s) for zos.location.get and the registered location, comma separated or repeated', list)
    .option('--admin-twins <ids>', 'twins allowed to call zos.debug.* (zos-config admin_twins), comma separated or repeated', list)
    .option('--nr-uplinks <cidr>', 'pool of the /30 uplinks of private network resources (zos: 100.127.0.0/16)')
    .option('--no-nr-egress', 'private networks reach only their WireGuard peers: no NAT out through this machine (zos up on a person\'s machine)')
    .action(async (raw) => {
      const parsed = optionsSchema.safeParse(raw);
      if (!parsed.success) {
        process.stderr.write(`zos node: ${parsed.error.issues.map((i) => i.message).join('; ')}\n`);
        process.exit(2);
      }
      const o = parsed.data;
      const log = createLogger({ name: 'zos-node' });
      (await import('../../node/daemon-v8.ts')).applyDaemonV8Settings();
      const { ZosNode } = await import('../../node/node.ts');
      const node = new ZosNode({
        chainUrls: o.chain, relayUrls: o.relay, farmId: o.farm, dataDir: o.dataDir, seed: o.seed, mnemonic: o.mnemonic,
        activationUrl: o.activationUrl, kycUrl: o.kycUrl, geoipUrls: o.geoipUrl, adminTwins: o.adminTwins,
        network: { uplinkPool: o.nrUplinks, egress: o.nrEgress },
        storage: { pools: [{ name: 'default', type: 'ssd', image: { size: o.poolSize } }] },
        uptimeEveryMs: (o.uptimeMinutes ?? 40) * 60_000,
        nruEveryMs: (o.nruMinutes ?? 60) * 60_000,
        dnsResolver: o.dnsResolver,
        log,
      });
      stopOnSignals(log, 'node', () => node.close());
      try {
        const { nodeId, twinId } = await node.start();
        process.stdout.write(`ready node ${nodeId} twin ${twinId}\n`);
        trimMallocPeriodically();
      } catch (err) {
        log.error({ err }, 'node failed to start');
        await node.close();
        process.exit(1);
      }
    });
}
