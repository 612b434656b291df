import type { Command } from 'commander';
import { z } from 'zod';
import type { Deployment, Workload } from '../../node/model/index.ts';
import { addGridOptions, cliLogger, gridOptionsSchema, openSession, parseOptions, printJson, runAction } from '../grid/cli.ts';
import { CliError, CliErrorCode, explain } from '../grid/errors.ts';
import type { UserSession } from '../grid/session.ts';

const idArg = z.coerce.number({ error: 'expected a contract id' }).int().positive('expected a contract id (a positive number)');
const listOptions = gridOptionsSchema.extend({ node: z.coerce.number().int().positive('--node must be a node id').optional() });

/** Runs `body` with a session for the parsed options; closes it whatever happens. */
type Inventory = typeof import('../grid/inventory.ts') & typeof import('../grid/deployer.ts');

/** Runs `body` with a session and the (lazily loaded) inventory helpers; closes the session whatever happens. */
function withSession<S extends typeof gridOptionsSchema>(prefix: string, schema: S, raw: Record<string, unknown>, body: (s: UserSession, o: z.infer<S>, inv: Inventory) => Promise<void>): Promise<never> {
  return runAction(prefix, !!raw.json, async () => {
    const o = parseOptions(schema, raw);
    const inv = { ...(await import('../grid/inventory.ts')), ...(await import('../grid/deployer.ts')) };
    const session = await openSession(o, cliLogger(prefix.replace(' ', '-')));
    try {
      await body(session, o, inv);
    } finally {
      await session.close();
    }
  });
}

const contractId = (raw: string) => {
  const r = idArg.safeParse(raw);
  if (!r.success) throw new CliError(CliErrorCode.badInput, `${JSON.stringify(raw)}: ${r.error.issues[0]!.message}`);
  return r.data;
};

function describeWorkload(w: Workload): string {
  const msg = w.result.message ? `  (${w.result.message})` : '';
  return `  ${w.name.padEnd(16)} ${w.type.padEnd(10)} ${(w.result.state || 'init').padEnd(8)} ${JSON.stringify(w.data)}${msg}`;
}

/** `zos deployments list|get|changes|cancel`: your deployments, from the chain and the nodes. */
export function register(program: Command): void {
  const cmd = program.command('deployments').description('list, inspect and cancel your deployments');

  addGridOptions(cmd.command('list').description('your deployments on every node where you have a contract (or on --node)'))
    .option('--node <id>', 'only this node (faster on a big grid)')
    .action((raw: Record<string, unknown>) =>
      withSession('zos deployments list', listOptions, raw, async (s, o, { listDeployments, formatStates }) => {
        const rows = await listDeployments(s, o.node ? [o.node] : undefined);
        if (o.json) return printJson(rows);
        if (!rows.length) return void process.stdout.write('no deployments\n');
        for (const r of rows) process.stdout.write(`contract ${r.contractId}  node ${r.nodeId}  ${r.name || '(unnamed)'}  v${r.version}  ${formatStates(r.workloads)}\n`);
      }),
    );

  addGridOptions(cmd.command('get').description('one deployment with its workloads, states and results').argument('<contract>', 'contract id'))
    .action((id: string, raw: Record<string, unknown>) =>
      withSession('zos deployments get', gridOptionsSchema, raw, async (s, o, { myNodeContract, row }) => {
        const c = await myNodeContract(s, contractId(id));
        const dl = await s.call<Deployment>(c.contractType.nodeId, 'zos.deployment.get', { contract_id: c.contractId });
        if (o.json) return printJson({ ...row(dl, c.contractType.nodeId), contractState: c.state.kind, deployment: dl });
        const r = row(dl, c.contractType.nodeId);
        process.stdout.write(`contract ${r.contractId} (${c.state.kind}) on node ${r.nodeId}: ${r.name || '(unnamed)'} v${r.version}\n`);
        for (const w of [...dl.workloads].sort((a, b) => a.name.localeCompare(b.name))) process.stdout.write(`${describeWorkload(w)}\n`);
      }),
    );

  addGridOptions(cmd.command('changes').description('the workload transaction log of a deployment (zos.deployment.changes)').argument('<contract>', 'contract id'))
    .action((id: string, raw: Record<string, unknown>) =>
      withSession('zos deployments changes', gridOptionsSchema, raw, async (s, o, { myNodeContract }) => {
        const c = await myNodeContract(s, contractId(id));
        const changes = await s.call<Workload[]>(c.contractType.nodeId, 'zos.deployment.changes', { contract_id: c.contractId });
        if (o.json) return printJson(changes);
        for (const w of changes) {
          const when = w.result.created ? new Date(w.result.created * 1000).toISOString() : '-';
          process.stdout.write(`${when}  ${w.name.padEnd(16)} ${w.type.padEnd(10)} ${w.result.state}${w.result.message ? `  ${w.result.message}` : ''}\n`);
        }
      }),
    );

  addGridOptions(cmd.command('cancel').description('cancel the contract: the node then removes the workloads').argument('<contract>', 'contract id'))
    .action((id: string, raw: Record<string, unknown>) =>
      withSession('zos deployments cancel', gridOptionsSchema, raw, async (s, o, { myNodeContract }) => {
        const c = await myNodeContract(s, contractId(id));
        await s.account.cancelContract(c.contractId).catch((err) => {
          throw explain(err, s.ctx);
        });
        if (o.json) return printJson({ contractId: c.contractId, nodeId: c.contractType.nodeId, canceled: true });
        process.stdout.write(`contract ${c.contractId} canceled; node ${c.contractType.nodeId} removes its workloads\n`);
      }),
    );
}
