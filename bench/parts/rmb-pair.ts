/**
 * Part of bench/relay.ts and bench/parts/rmb-profile.ts: our relay and two RelayPeers in this
 * process, A (sr25519, the client) asking B (ed25519, the node) for an echo, as the node's
 * zos.deployment.get is asked: `rpc` is one request and its reply.
 */
import { createIdentity, type Identity } from '../../relay-client/identity.ts';
import { RelayPeer } from '../../relay-client/peer.ts';
import { readOnly } from '../../relay-client/router.ts';
import { MemoryTwinDirectory } from '../../rmb/twins.ts';
import { RelayServer } from '../../relay/server.ts';

export const PAYLOAD = { contract_id: 12345, name: 'x'.repeat(200) };

export interface RmbPair {
  a: Identity;
  b: Identity;
  url: string;
  relay: RelayServer;
  pa: RelayPeer;
  pb: RelayPeer;
  rpc: () => Promise<unknown>;
}

export async function startRmbPair(): Promise<RmbPair> {
  const a = await createIdentity('0x' + '0a'.repeat(32), 'sr25519');
  const b = await createIdentity('0x' + '0b'.repeat(32), 'ed25519');
  const twin = (id: number, i: Identity) => ({ id, accountId: i.accountId, relay: 'relay.bench', pk: i.secpPublic });
  const twins = new MemoryTwinDirectory([twin(1, a), twin(2, b)]);
  const relay = new RelayServer({ twins, domains: ['relay.bench'] });
  const url = await relay.start();
  const pa = new RelayPeer({ identity: a, twinId: 1, relays: [url], twins });
  const pb = new RelayPeer({ identity: b, twinId: 2, relays: [url], twins });
  // An echo changes nothing: readOnly, as the node marks its zos.deployment.get (see relay.ts' header).
  pb.handle('zos.deployment.get', readOnly((p) => p));
  await Promise.all([pa.start(), pb.start()]);
  await Promise.all([pa.connected(), pb.connected()]);
  const rpc = () => pa.request(2, 'zos.deployment.get', PAYLOAD, { timeoutMs: 30_000 });
  return { a, b, url, relay, pa, pb, rpc };
}
