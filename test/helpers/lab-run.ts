/**
 * The test lab for a person: `npm run lab -- [--nodes 2]` starts a LabGrid (devnet and relay in
 * the services namespace, N `zos node`s, a laptop namespace), prints how to get in, and removes
 * everything on Ctrl-C.
 */
import { LabGrid } from './lab-grid.ts';

const i = process.argv.indexOf('--nodes');
const count = i > 0 ? Number(process.argv[i + 1]) : 2;
if (!Number.isInteger(count) || count < 0 || count > 20) {
  console.error('usage: npm run lab -- [--nodes N]   (0..20, default 2)');
  process.exit(2);
}
const grid = new LabGrid();
let closing = false;
const stop = async () => {
  if (closing) return;
  closing = true;
  console.log('\nremoving the lab ...');
  await grid.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
console.log(`starting a lab with ${count} node(s) (namespaces from 198.18.0.0/15, no link to this host's network) ...`);
await grid.start({ nodes: count });
for (let n = 0; n < count; n++) {
  const node = await grid.startNode(n);
  console.log(`node ${node.nodeId} (twin ${node.twinId}) in ${node.host.ns} at ${node.host.ip}, data ${node.dataDir}`);
}
const { lab } = grid;
console.log(`
services  ${lab.services.ns} ${lab.services.ip}: chain ${grid.inside.chain}, relay ${grid.inside.relay}
laptop    ${lab.laptop.ns} ${lab.laptop.ip}
internet  ${lab.internet} (bridge br0; capture: ip netns exec ${lab.internet} tcpdump -ni br0)
from this shell: chain ${grid.chainUrl}, relay ${grid.relayUrl}, faucet ${grid.activationUrl}
a shell on the laptop: nsenter --net=/run/netns/${lab.laptop.ns} bash
Ctrl-C removes the lab.`);
