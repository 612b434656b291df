import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execa } from 'execa';
import WebSocket from 'ws';
import { createJwt } from '../../rmb/jwt.ts';
import { makeTwin, nowS } from './fixture.ts';

const BIN = new URL('../../bin/zos', import.meta.url).pathname;

test('zos relay: refuses bad options with a clear message', async () => {
  const r = await execa(BIN, ['relay', '--chain', 'http://x', '--domain', 'a/b'], { reject: false });
  assert.notEqual(r.exitCode, 0);
  assert.match(r.stderr, /chain: must be a ws:\/\/ or wss:\/\/ URL/);
  assert.match(r.stderr, /domain\[0\]: a host name/);
});

test('zos relay: prints "ready ws://HOST:PORT", checks JWTs against the chain, stops on SIGTERM', async (t) => {
  const { Devnet } = await import('../../chain/devnet/index.ts');
  const devnet = new Devnet({ port: 0 });
  const chainUrl = await devnet.start();
  t.after(() => devnet.close());
  const proc = execa(BIN, ['relay', '--chain', chainUrl, '--domain', 'relay.test', '--port', '0', '--upgrades-per-minute', '6'], { reject: false });
  t.after(() => proc.kill('SIGKILL'));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^ready (ws:\/\/127\.0\.0\.1:\d+)$/m.exec(out);
      if (m) resolve(m[1]!);
    });
    void proc.then((r) => reject(new Error(`exited ${r.exitCode}: ${String(r.stderr).slice(-1000)}`)));
  });
  const stranger = await makeTwin(77);
  const status = () => new Promise<string>((resolve) => {
    const ws = new WebSocket(`${url}/?${createJwt(stranger.identity, { twin: 77, nowS: nowS() })}`);
    ws.on('unexpected-response', (_q, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => resolve(`${res.statusCode} ${body}`));
    });
    ws.on('error', () => undefined);
  });
  assert.equal(await status(), '401 twin not found 77');
  // --upgrades-per-minute 6 is a burst of one attempt per address.
  assert.equal(await status(), '429 too many connection attempts');
  assert.match(await (await fetch(`${url.replace('ws', 'http')}/metrics`)).text(), /rmb_relay_sessions 0/);
  proc.kill('SIGTERM');
  assert.equal((await proc).exitCode, 0);
});
