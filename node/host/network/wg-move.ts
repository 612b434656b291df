import { failpoint } from '../../../lib/failpoints.ts';
import { formatCidr4, networkOf } from './addr.ts';
import { ip, linkDelete } from './ip.ts';
import { buildNr, type NrHostEnv, type NrSpec } from './nr.ts';
import { configureWireguard, handshaken, muteWireguard, stopWireguardGo, wireguardEndpoints } from './wireguard.ts';

/** How long a moved NR's old wireguard-go keeps serving while the new one handshakes its peers. */
const MOVE_HANDSHAKE_MS = 2000;

/**
 * Moves an NR's running wireguard-go (`from`) to `spec.socketNs` without a gap; returns the new
 * one's pid. The new one (`spec.names.wg`, the NR's other interface name; same key and port, in
 * another namespace) is started with its TUN in the NR beside the old one, with no peers and no
 * route yet. Then the old one is muted: no keepalive, no address, no route, so it sends nothing
 * more (a packet from it would roam a peer back to the old address) but still takes what peers
 * send it. Then the routes and the peers go to the new one; peers that dialled in (no endpoint
 * configured) get the one they came from. Adding a peer with a keepalive handshakes it at once,
 * and the peer roams to the new address; once all have (at most MOVE_HANDSHAKE_MS) the old one
 * stops. If the new one fails, the old one is restored and the error thrown.
 */
export async function moveWireguard(spec: NrSpec, from: { iface: string; pid: number }, env: NrHostEnv): Promise<number> {
  const opts = { log: env.log };
  const n = spec.names;
  const wg = spec.wireguard!;
  const learned = await wireguardEndpoints(from.iface);
  const wireguard = { ...wg, peers: wg.peers.map((p) => ({ ...p, endpoint: p.endpoint || (learned.get(p.publicKey) ?? '') })) };
  // A leftover of a move cut short (a node killed in the middle) holds the name in the NR.
  await linkDelete(n.ns, n.wg, opts).catch(() => undefined);
  const pid = (await buildNr({ ...spec, wireguard: { ...wg, peers: [] }, ipRange: null }, env, undefined))!;
  try {
    await muteWireguard(from.iface, wg.peers.map((p) => p.publicKey));
    await ip(n.ns, ['addr', 'flush', 'dev', from.iface], opts);
    if (spec.ipRange) await ip(n.ns, ['route', 'replace', formatCidr4({ ip: networkOf(spec.ipRange), prefix: spec.ipRange.prefix }), 'dev', n.wg], opts);
    await failpoint('network.wg-move.muted');
    await configureWireguard(n.wg, wireguard, env.runDir, env.log);
  } catch (err) {
    await stopWireguardGo(pid, n.wg);
    await buildNr({ ...spec, names: { ...n, wg: from.iface } }, env, from.pid).catch(() => undefined);
    throw err;
  }
  const known = wireguard.peers.filter((p) => p.endpoint).map((p) => p.publicKey);
  if (!(await handshaken(n.wg, known, MOVE_HANDSHAKE_MS))) {
    // The old one stops anyway: the new one holds the routes; a peer it could not reach retries itself.
    env.log.warn({ iface: n.wg, peers: known.length }, `not every peer handshook with the moved wireguard-go within ${MOVE_HANDSHAKE_MS} ms`);
  }
  await stopWireguardGo(from.pid, from.iface);
  return pid;
}
