import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../lib/log.ts';
import { createGridUser, waitFor, type GridUser } from '../helpers/grid.ts';
import { labSupported } from '../helpers/lab.ts';
import { LabGrid, type LabNode } from '../helpers/lab-grid.ts';
import { addUpstreamRouter, FARM_NET } from '../helpers/lab-public.ts';
import { requireHost } from '../helpers/host.ts';
import { rmb } from '../helpers/deployments.ts';
import { cleanupStack } from './fixtures.ts';

/**
 * Public IPs end to end in the lab: a farm (own farmer twin) with public IPs, its node wired to the
 * farm segment behind an upstream router. The farmer picks the public NIC over RMB and sets the
 * node's public config on chain; the node builds its public namespace and follows changes.
 */
test('public config: farmer sets the public nic, the node follows add_node_public_config, public_config_get from the host', async (t) => {
  const why = await labSupported();
  if (!requireHost(t, why === null, why ?? '')) return;
  const defer = cleanupStack(t);
  const grid = new LabGrid();
  defer(() => grid.close());
  await grid.start({ nodes: 1 });
  const { lab } = grid;
  await addUpstreamRouter(lab);
  const log = silentLogger();
  const farmer: GridUser = await createGridUser({ client: grid.client, activationUrl: grid.activationUrl, relayUrl: grid.relayUrl, log });
  defer(() => farmer.peer.close());
  const { farmId } = await farmer.account.ensureFarm('pubfarm', FARM_NET.farmIps);
  grid.farmId = farmId;
  const node: LabNode = await grid.startNode(0, { env: { ZOS_VM_ACCEL: 'tcg' } });
  const user = await createGridUser({ client: grid.client, activationUrl: grid.activationUrl, relayUrl: grid.relayUrl, log });
  defer(() => user.peer.close());

  // Admin commands: the farm's twin only; zos' texts for a bad payload and an unknown NIC.
  await assert.rejects(rmb(user, node.twinId, 'zos.admin.get_public_nic'), /unauthorized/);
  await assert.rejects(rmb(user, node.twinId, 'zos.admin.set_public_nic', 'eth1'), /unauthorized/);
  await assert.rejects(rmb(farmer, node.twinId, 'zos.admin.get_public_nic'), /no public bridge found: Link not found/);
  await assert.rejects(rmb(farmer, node.twinId, 'zos.admin.set_public_nic', 7), /failed to decode input, expecting string: json: cannot unmarshal number into Go value of type string/);
  await assert.rejects(rmb(farmer, node.twinId, 'zos.admin.set_public_nic', 'eth9'), /Link not found/);
  await assert.rejects(rmb(farmer, node.twinId, 'zos.network.public_config_get'), /no public configuration/);
  assert.equal(await rmb(farmer, node.twinId, 'zos.admin.set_public_nic', 'eth1'), null);
  assert.deepEqual(await rmb(farmer, node.twinId, 'zos.network.admin.get_public_nic'), { is_single: false, is_dual: true, dual_interface: 'eth1' });

  // The public config on chain becomes the node's public namespace, reachable from the laptop.
  await farmer.account.addNodePublicConfig(farmId, node.nodeId, { ...FARM_NET.node, domain: 'gw.lab.example' });
  const want = { type: '', ipv4: FARM_NET.node.ip4.ip, ipv6: FARM_NET.node.ip6.ip, gw4: FARM_NET.gw4, gw6: FARM_NET.gw6, domain: 'gw.lab.example' };
  await waitFor(async () => JSON.stringify(await rmb(user, node.twinId, 'zos.network.public_config_get')) === JSON.stringify(want), 'public config applied', 30_000, 300);
  assert.equal(await rmb(user, node.twinId, 'zos.network.has_ipv6'), true);
  const ping = (to: string) => lab.exec(lab.laptop, 'ping', ['-c1', '-W2', to], { reject: false });
  assert.equal((await ping('185.206.122.10')).exitCode, 0, 'the node public IPv4 answers through the router');
  assert.equal((await ping('2a02:1802:5e:2::10')).exitCode, 0, 'the node public IPv6 answers through the router');

  // A change on chain is followed: IPv4 moves, IPv6 and the domain go.
  await farmer.account.addNodePublicConfig(farmId, node.nodeId, { ip4: { ip: '185.206.122.11/24', gw: FARM_NET.gw4 }, ip6: null, domain: null });
  await waitFor(async () => (await rmb<{ ipv4: string }>(user, node.twinId, 'zos.network.public_config_get')).ipv4 === '185.206.122.11/24', 'public config change followed', 30_000, 300);
  assert.deepEqual(await rmb(user, node.twinId, 'zos.network.public_config_get'), { ...want, ipv4: '185.206.122.11/24', ipv6: '', gw6: '', domain: '' });
  await assert.rejects(rmb(user, node.twinId, 'zos.network.has_ipv6'), /no public ipv6 found/);
  assert.equal((await ping('185.206.122.11')).exitCode, 0);
});
