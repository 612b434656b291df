import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * Loading and driving the unmodified official ThreeFold npm clients (their CommonJS builds)
 * from our ESM tests. Nothing here re-implements them: each helper only calls their public API.
 */

// Their CommonJS @polkadot copy loads next to our ESM one; expected here, not a version clash.
process.env.POLKADOTJS_DISABLE_ESM_CJS_WARNING = '1';

const require = createRequire(import.meta.url);

/* eslint-disable @typescript-eslint/no-explicit-any -- the official clients ship untyped CJS here */
export type OfficialChain = any;
export type OfficialRmb = any;

export const { Client: TfchainClient } = require('@threefold/tfchain_client') as {
  Client: new (o: { url: string; mnemonicOrSecret: string; keypairType?: string }) => OfficialChain;
};
export const { Client: RmbClient, generatePublicKey } = withNobleHashesV1(() => require('@threefold/rmb_direct_client')) as {
  Client: new (chainUrl: string, relayUrl: string, mnemonic: string, session: string, keypairType: string, retries: number) => OfficialRmb;
  generatePublicKey: (mnemonic: string) => string;
};

/**
 * rmb_direct_client 2.9.2 (dist/node/sign.js) does `require("@noble/hashes/sha2")` without declaring
 * @noble/hashes: it relies on a hoisted v1. Our tree hoists v2 (ESM, exports only "./sha2.js"), so
 * loading it throws ERR_PACKAGE_PATH_NOT_EXPORTED. While it loads, that one specifier (from @threefold
 * packages only) resolves to the v1.8 copy its own dependency bip39 ships. Their code is untouched.
 */
function withNobleHashesV1<T>(load: () => T): T {
  const Module = require('node:module') as { _resolveFilename: (req: string, parent: { filename?: string } | undefined, ...rest: unknown[]) => string };
  const v1 = createRequire(require.resolve('bip39')).resolve('@noble/hashes/sha2');
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function (req, parent, ...rest) {
    if (req === '@noble/hashes/sha2' && parent?.filename?.includes('/@threefold/')) return v1;
    return resolve.call(this, req, parent, ...rest);
  };
  try {
    return load();
  } finally {
    Module._resolveFilename = resolve;
  }
}

// grid_client's package "exports" only expose its index (which drags in the whole SDK), so its
// zos classes are loaded by file path next to the resolved entry point.
const gridZos = join(dirname(require.resolve('@threefold/grid_client')), 'zos');
const zos = (file: string) => require(join(gridZos, file)) as Record<string, any>;
export const { Deployment, SignatureRequest, SignatureRequirement } = zos('deployment.js');
export const { Workload, WorkloadTypes } = zos('workload.js');
export const { Zmount } = zos('zmount.js');
export const { Volume } = zos('volume.js');
export const { Znet } = zos('znet.js');
// grid_client's own JSON -> class decoding uses these two (DeploymentFactory.fromObj).
const fromGrid = createRequire(join(gridZos, 'deployment.js'));
const { plainToInstance } = fromGrid('class-transformer') as { plainToInstance: (cls: unknown, plain: unknown) => any };
const { validate } = fromGrid('class-validator') as { validate: (o: object) => Promise<Array<{ toString(): string }>> };

/** The T&C link grid_client/dashboard accept with (any link passes tfchain's check). */
export const TC_LINK = 'https://library.threefold.me/info/legal/';
/** grid_client accepts with md5(document) as the hash; the chain only requires it non-empty. */
export const TC_HASH = createHash('md5').update('terms and conditions').digest('hex');

/** A zmount + volume deployment built the way grid_client's DeploymentFactory/DiskPrimitive build them. */
export function officialDiskDeployment(twinId: number, o: { disk: number; volume: number; description?: string }): any {
  const req = new SignatureRequest();
  req.twin_id = twinId;
  req.weight = 1;
  req.required = false;
  const sr = new SignatureRequirement();
  sr.weight_required = 1;
  sr.requests = [req];
  const dl = new Deployment();
  Object.assign(dl, { version: 0, metadata: '', description: o.description ?? 'compat', twin_id: twinId, expiration: 0, signature_requirement: sr });
  dl.workloads = [workload('disk', WorkloadTypes.zmount, Object.assign(new Zmount(), { size: o.disk })), workload('vol', WorkloadTypes.volume, Object.assign(new Volume(), { size: o.volume }))];
  return dl;
}

function workload(name: string, type: string, data: unknown): any {
  return Object.assign(new Workload(), { version: 0, name, type, data, metadata: '', description: '' });
}

/** What grid_client makes of a deployment JSON from a node (DeploymentFactory.fromObj), validated. */
export async function decodeLikeGridClient(json: unknown): Promise<{ deployment: any; errors: string[] }> {
  const copy = JSON.parse(JSON.stringify(json)) as { workloads: Array<{ type: string; data: Record<string, unknown>; result?: { data?: Record<string, unknown> } }> };
  for (const w of copy.workloads) {
    w.data.__type = w.type;
    if (w.result?.data) w.result.data.__type = w.type;
  }
  const deployment = plainToInstance(Deployment, copy);
  return { deployment, errors: (await validate(deployment)).map((e) => e.toString()) };
}

/** One request/response the way grid_client's RMB wrapper does it (send + read; "" for no payload). */
export async function rmbRequest<T>(rmb: OfficialRmb, nodeTwin: number, cmd: string, payload?: unknown, expirationSec = 60): Promise<T> {
  const id = await rmb.send(cmd, payload === undefined ? '' : JSON.stringify(payload), nodeTwin, expirationSec / 60);
  return (await rmb.read(id)) as T;
}

/**
 * Runs `fn` with Node's TLS verification off. The official RMB client opens `new WebSocket(url)`
 * with no options, so there is no way to hand it our self-signed CA, and NODE_EXTRA_CA_CERTS is
 * read only at process start (the cert is made by the test). Node reads the variable on every
 * tls.connect, so only the handshakes started inside `fn` are unverified; the node process
 * verifies the same relay properly (NODE_EXTRA_CA_CERTS).
 */
export async function withUnverifiedTls<T>(fn: () => Promise<T>): Promise<T> {
  const before = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    else process.env.NODE_TLS_REJECT_UNAUTHORIZED = before;
  }
}

/**
 * The official clients print every extrinsic event and lock step with console.log/debug;
 * mute those two while they run (ZOS_TEST_LOGS=1 keeps them). Returns the restore function.
 */
export function muteClientChatter(): () => void {
  if (process.env.ZOS_TEST_LOGS) return () => {};
  const { log, debug } = console;
  console.log = () => {};
  console.debug = () => {};
  return () => {
    console.log = log;
    console.debug = debug;
  };
}

/** Closes an official RMB client, bounded: its disconnect waits (≤ 2 min) for unread responses. */
export async function closeRmb(rmb: OfficialRmb | null, timeoutMs = 10_000): Promise<void> {
  if (!rmb) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.resolve(rmb.disconnect()).catch(() => undefined),
    new Promise((r) => (timer = setTimeout(r, timeoutMs))),
  ]);
  clearTimeout(timer);
  rmb.responses?.clear();
  rmb.con?.terminate?.();
}
