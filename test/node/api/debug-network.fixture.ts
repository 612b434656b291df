// Runs the network health checks of zos.debug.deployment.health in the current network namespace
// (started under `ip netns exec`, which also gives it that namespace's /sys) and prints them.
import { networkChecks } from '../../../node/api/debug-network.ts';
import { HostSystem } from '../../../node/host/system/index.ts';
import type { NrInfo } from '../../../node/host/network/index.ts';

const [namespace, bridge, wg] = process.argv.slice(2) as [string, string, string];
const nr = { namespace, bridge, wgInterface: wg, twin: 7, name: 'net1' } as NrInfo;
const checks = await networkChecks({ nr: () => nr, host: new HostSystem() }, 7, 'net1', false);
process.stdout.write(JSON.stringify(checks));
