/**
 * Part of bench/node.ts: the CPU of one signed request and its reply, stage by stage, in one
 * thread and without sockets, through the same functions the peers and the relay run. What a
 * process measures per request beyond the sum is WebSocket I/O, scheduling and the handler's
 * own work (the node's store).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SharedKeyCache } from '../../relay-client/e2e.ts';
import type { Identity } from '../../relay-client/identity.ts';
import { ReplayCache, SqliteReplayBackend } from '../../relay-client/replay.ts';
import { Router } from '../../relay-client/router.ts';
import { openEnvelope, sealReply, sealRequest, type SealContext } from '../../relay-client/seal.ts';
import { decodeEnvelope, encodeEnvelope } from '../../rmb/envelope.ts';
import { MemoryTwinDirectory, type Twin } from '../../rmb/twins.ts';

export interface Stage {
  where: 'client' | 'relay' | 'node';
  name: string;
  /** Median µs of CPU per message. */
  us: number;
}

/**
 * Median of `rounds` batches, in µs of this process's CPU per message (CPU time, not wall time:
 * a machine shared with other work stretches the latter); async calls are awaited one at a
 * time. `fn` handles `each` messages per call.
 */
async function medianUs(fn: () => unknown, each = 1, rounds = 11, batch = 100): Promise<number> {
  for (let i = 0; i < batch; i++) await fn();
  const per: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = process.cpuUsage();
    for (let i = 0; i < batch; i++) await fn();
    const d = process.cpuUsage(t);
    per.push((d.user + d.system) / batch / each);
  }
  per.sort((x, y) => x - y);
  return per[Math.floor(per.length / 2)]!;
}

/** Stages of `client` asking `node` for `reply` (a JSON value like a deployment). */
export async function rmbStages(client: Identity, node: Identity, reply: unknown): Promise<Stage[]> {
  const twin = (id: number, i: Identity): Twin => ({ id, accountId: i.accountId, relay: 'relay.bench', pk: i.secpPublic });
  const twins = new MemoryTwinDirectory([twin(1, client), twin(2, node)]);
  const ctx = (i: Identity, id: number): SealContext => ({ identity: i, twinId: id, relayHosts: ['relay.bench'], encrypt: true, keys: new SharedKeyCache(i.secpSecret) });
  const c = ctx(client, 1);
  const n = ctx(node, 2);
  const router = new Router();
  router.handle('zos.deployment.get', () => reply);
  const dir = mkdtempSync(join(tmpdir(), 'rmb-stages-'));
  const replay = new ReplayCache(new SqliteReplayBackend(join(dir, 'replay.sqlite')));
  try {
    const nowS = () => Math.floor(Date.now() / 1000);
    let seq = 0;
    const request = () => {
      const payload = new TextEncoder().encode(JSON.stringify({ contract_id: 12 }));
      return encodeEnvelope(sealRequest(c, { uid: `u-${seq++}`, dest: twin(2, node), command: 'zos.deployment.get', payload, nowS: nowS(), expirationS: 30 }));
    };
    const reqBytes = request();
    const req = decodeEnvelope(reqBytes);
    const answer = await router.dispatch((await openEnvelope(n, req, twins, nowS()) as { payload: Uint8Array }).payload, { twin: 1, uid: req.uid, command: 'zos.deployment.get' });
    const replyBytes = encodeEnvelope(sealReply(n, req, twin(1, client), answer, nowS()));
    const rep = decodeEnvelope(replyBytes);
    const opened = (await openEnvelope(c, rep, twins, nowS())) as { payload: Uint8Array };
    return [
      { where: 'client', name: 'seal + encode request', us: await medianUs(request) },
      { where: 'relay', name: 'decode request + reply', us: await medianUs(() => (decodeEnvelope(reqBytes), decodeEnvelope(replyBytes))) },
      { where: 'node', name: 'decode request', us: await medianUs(() => decodeEnvelope(reqBytes)) },
      { where: 'node', name: 'open (verify, decrypt)', us: await medianUs(() => openEnvelope(n, req, twins, nowS())) },
      // 32 requests in one turn of the event loop (as with 32 in flight), then their one write.
      { where: 'node', name: 'replay record (SQLite)', us: await medianUs(async () => {
        for (let i = 0; i < 32; i++) replay.add(`1::u-${seq++}`, Date.now() + 30_000, Date.now());
        await new Promise((r) => setImmediate(r));
      }, 32, 11, 10) },
      { where: 'node', name: 'dispatch (JSON in/out)', us: await medianUs(() => router.dispatch(opened.payload, { twin: 1, uid: req.uid, command: 'zos.deployment.get' })) },
      { where: 'node', name: 'seal + encode reply', us: await medianUs(() => encodeEnvelope(sealReply(n, req, twin(1, client), answer, nowS()))) },
      { where: 'client', name: 'decode + open reply', us: await medianUs(() => openEnvelope(c, decodeEnvelope(replyBytes), twins, nowS())) },
      { where: 'client', name: 'JSON.parse reply', us: await medianUs(() => JSON.parse(new TextDecoder().decode(opened.payload))) },
    ];
  } finally {
    replay.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The table bench/node.ts prints: one line per stage, then the sums per side. */
export function formatStages(stages: Stage[]): string[] {
  const sum = (w?: Stage['where']) => stages.filter((s) => !w || s.where === w).reduce((t, s) => t + s.us, 0);
  return [
    ...stages.map((s) => `  ${s.where.padEnd(6)} ${s.name.padEnd(24)} ${s.us.toFixed(1).padStart(7)} µs`),
    `  sum: client ${sum('client').toFixed(0)} µs, relay ${sum('relay').toFixed(0)} µs, node ${sum('node').toFixed(0)} µs, all ${sum().toFixed(0)} µs`,
  ];
}
