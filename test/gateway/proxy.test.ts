import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { silentLogger } from '../../lib/log.ts';
import { GatewayProxy, renderProxyConfig, type ProxyRoute } from '../../node/host/gateway/index.ts';
import { certificateSteps, challengeMapText, parseBackendBytes, servedGeneration } from '../../node/host/gateway/config.ts';
import { Haproxy } from '../../node/host/gateway/haproxy.ts';
import { aliveWith, readPid, spawnDetached, terminate } from '../../node/host/vm/procs.ts';
import { selfSignedCert } from '../helpers/tls.ts';
import { waitFor } from '../helpers/grid.ts';
import { labSupported, waitOutput } from '../helpers/lab.ts';
import { requireHost } from '../helpers/host.ts';
import { cleanupStack } from '../vm/fixtures.ts';
import { proxyAccount, proxyRunDir } from '../../node/host/gateway/privileges.ts';

const routes: ProxyRoute[] = [
  { id: '7-12-web', kind: 'gateway-name-proxy', fqdn: 'Web.gw.example', tlsPassthrough: false, servers: ['10.20.2.5:80', '[fd00::5]:8080'], namespace: 'n-abc' },
  { id: '7-13-tls', kind: 'gateway-fqdn-proxy', fqdn: 'tls.example.org', tlsPassthrough: true, servers: ['10.20.2.6:443'] },
];

test('gateway config: Host and SNI routes, servers in the owner namespace, checked by haproxy -c', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'zos-gw-cfg-'));
  const cert = await selfSignedCert(dir);
  const pem = join(dir, 'default.pem');
  await writeFile(pem, Buffer.concat([cert.cert, cert.key]));
  const list = join(dir, 'names.list');
  const text = renderProxyConfig(routes, {
    generation: 3, statsSocket: '/run/x.sock', httpBinds: [':80'], tlsBinds: [':443'], terminator: 'zos-gw-t1', defaultCertificate: pem, certificateList: list,
    challengeMap: join(dir, 'challenges.map'),
  });
  // :80 answers ACME HTTP-01 challenges (from a map changed at run time) and redirects everything else to https, as zos' traefik.
  assert.ok(text.includes(`frontend web
  mode http
  option httplog
  bind :80
  http-request return status 200 content-type "text/plain; charset=utf-8" lf-string "%[path,field(4,/),map(${dir}/challenges.map)]" if { path_reg '^/[.]well-known/acme-challenge/[A-Za-z0-9_-]+$' } { path,field(4,/),map(${dir}/challenges.map) -m found }
  http-request return status 404 content-type "text/plain; charset=utf-8" string "404 page not found" if { path_beg /.well-known/acme-challenge/ }
  http-request return status 301 content-type "text/plain; charset=utf-8" string "Moved Permanently" hdr location "https://%[req.hdr(host),regsub(:[0-9]+\\$,)]%[capture.req.uri]" if METH_GET
  http-request return status 308 content-type "text/plain; charset=utf-8" string "Permanent Redirect" hdr location "https://%[req.hdr(host),regsub(:[0-9]+\\$,)]%[capture.req.uri]"

frontend web-secure
  mode tcp
  option tcplog
  bind :443
  tcp-request inspect-delay 5s
  tcp-request content accept if { req.ssl_hello_type 1 }
  use_backend gw-7-13-tls if { req.ssl_sni,lower -m str tls.example.org }
  default_backend zos-tls-terminate

backend zos-tls-terminate
  mode tcp
  server local abns@zos-gw-t1 send-proxy-v2

frontend web-tls
  mode http
  option httplog
  bind abns@zos-gw-t1 accept-proxy ssl crt ${pem} crt-list ${list} alpn h2,http/1.1
  option forwardfor
  http-request set-header X-Forwarded-Proto https
  use_backend gw-7-12-web if { req.hdr(host),field(1,:),lower -m str web.gw.example }
  default_backend zos-no-route
`), text);
  assert.match(text, /use_backend gw-7-13-tls if \{ req\.ssl_sni,lower -m str tls\.example\.org \}/);
  assert.match(text, /server b0 ipv4@10\.20\.2\.5:80 namespace n-abc\n  server b1 ipv6@fd00::5:8080 namespace n-abc\n/);
  assert.match(text, /backend gw-7-13-tls\n  mode tcp\n  balance roundrobin\n  server b0 ipv4@10\.20\.2\.6:443\n/);
  assert.equal(servedGeneration(`Pid: 3\ndescription: zos-gateway-3\n`), 3);
  // Well-formed answers only reach the map.
  const map = challengeMapText([['tok-B_2', 'tok-B_2.thumb'], ['bad token', 'x.y'], ['tok-A', 'not" valid'], ['tok-0', 'tok-0.t']]);
  assert.equal(map, 'tok-0 tok-0.t\ntok-B_2 tok-B_2.thumb\n');
  await writeFile(join(dir, 'challenges.map'), map);
  // A certificate changes at run time: a new one is made, filled (its PEM without empty lines, which would end the payload), committed and listed; a loaded one is replaced; a gone one leaves.
  const commands = (pem: string | undefined, loaded: boolean) => certificateSteps('/r/c/a.pem', '/r/c/_names.list', pem, loaded).map((x) => x.command);
  assert.deepEqual(commands('A\n\nB\n', false), ['new ssl cert /r/c/a.pem', 'set ssl cert /r/c/a.pem <<\nA\nB\n', 'commit ssl cert /r/c/a.pem', 'add ssl crt-list /r/c/_names.list /r/c/a.pem']);
  assert.deepEqual(commands('A\n', true), ['set ssl cert /r/c/a.pem <<\nA\n', 'commit ssl cert /r/c/a.pem']);
  assert.deepEqual(commands(undefined, true), ['del ssl crt-list /r/c/_names.list /r/c/a.pem', 'del ssl cert /r/c/a.pem']);
  assert.deepEqual(commands(undefined, false), []);
  const [, , commit] = certificateSteps('/r/c/a.pem', '/r/c/_names.list', 'A', false);
  assert.ok(commit!.ok.test('Committing /r/c/a.pem\nSuccess!\n') && !commit!.ok.test('Committing /r/c/a.pem\nError!\nunable to ...\n'), 'haproxy 2.6 answers, as seen');
  // haproxy itself accepts it (it opens namespaces while parsing, so without one here), with no name's certificate yet.
  await writeFile(list, '');
  try {
    await writeFile(join(dir, 'h.cfg'), text.replaceAll(' namespace n-abc', ''));
    const r = await execa('haproxy', ['-c', '-q', '-f', join(dir, 'h.cfg')], { reject: false });
    assert.equal(r.exitCode, 0, r.stderr);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('gateway config: backend bytes from show stat', () => {
  const csv = '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq\nweb,FRONTEND,,,0,1,,3,500,900,0\ngw-7-12-web,b0,0,0,0,1,,3,120,340,\ngw-7-12-web,BACKEND,0,0,0,1,,3,120,340,0\n';
  assert.deepEqual([...parseBackendBytes(csv)], [['gw-7-12-web', 460]]);
});

/**
 * haproxy in a "public" namespace, backends in a separate "user network" namespace reached
 * through haproxy's per-server namespace, a client in a third: HTTP by Host, TLS passthrough by
 * SNI, a reload that does not cut an in-flight request, traffic counted, adoption by a new
 * manager, removal, and no haproxy left when the last route goes.
 */
test('gateway proxy: HTTP and TLS passthrough through the owner namespace, seamless reload, traffic, removal', async (t) => {
  const why = await labSupported();
  if (!requireHost(t, why === null, why ?? '')) return;
  const defer = cleanupStack(t);
  const id = randomBytes(3).toString('hex');
  const [pub, user, client] = ['p', 'u', 'c'].map((r) => `zgw${id}-${r}`) as [string, string, string];
  const dir = await mkdtemp(join(tmpdir(), `zgw${id}-`));
  defer(() => rm(dir, { recursive: true, force: true }));
  for (const n of [pub, user, client]) {
    await execa('ip', ['netns', 'add', n]);
    defer(async () => {
      for (const pid of String((await execa('ip', ['netns', 'pids', n], { reject: false })).stdout).split(/\s+/).filter(Boolean)) process.kill(Number(pid), 'SIGKILL');
      await execa('ip', ['netns', 'del', n], { reject: false });
    });
    await execa('ip', ['-n', n, 'link', 'set', 'lo', 'up']);
  }
  await execa('ip', ['-n', pub, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', client]);
  await execa('ip', ['-n', pub, 'addr', 'add', '198.18.9.1/24', 'dev', 'eth0']);
  await execa('ip', ['-n', client, 'addr', 'add', '198.18.9.2/24', 'dev', 'eth0']);
  for (const n of [pub, client]) await execa('ip', ['-n', n, 'link', 'set', 'eth0', 'up']);

  // The backends: HTTP (with a slow path) and HTTPS, inside the user namespace only.
  const cert = await selfSignedCert(dir, '10.20.2.5');
  const startBackend = async () => {
    await execa('ip', ['-n', user, 'link', 'set', 'lo', 'up']);
    await execa('ip', ['-n', user, 'addr', 'add', '10.20.2.5/32', 'dev', 'lo']);
    const p = execa('nsenter', [`--net=/run/netns/${user}`, process.execPath, '-e', `
      const http = require('http'), https = require('https'), fs = require('fs');
      http.createServer((q, s) => setTimeout(() => s.end('web:' + q.headers.host + ':' + q.url), q.url === '/slow' ? 1500 : 0)).listen(8080, '10.20.2.5', () =>
        https.createServer({ cert: fs.readFileSync(process.argv[1]), key: fs.readFileSync(process.argv[2]) }, (q, s) => s.end('tls:' + q.url))
          .listen(8443, '10.20.2.5', () => console.log('ready')));`, cert.certPath, cert.keyPath], { reject: false });
    defer(() => p.kill('SIGKILL'));
    await waitOutput(p, /ready/);
    return { p }; // wrapped: an async function would wait for a returned process to end
  };
  const backend = (await startBackend()).p;

  const curl = async (args: string[]) => {
    const r = await execa('ip', ['netns', 'exec', client, 'curl', '-s', '--max-time', '5', ...args], { reject: false });
    return r.exitCode === 0 ? String(r.stdout) : `curl exit ${r.exitCode}`;
  };
  /** Plain HTTP on :80 (zos redirects it), with status and Location. */
  const http80 = (host: string, path = '/', method = 'GET') => curl(['-X', method, '-o', '/dev/null', '-w', '%{http_code} %{redirect_url}', '-H', `Host: ${host}`, `http://198.18.9.1${path}`]);
  /** HTTPS by SNI; `host` may carry a port for the Host header. -k: the certificate is checked apart. */
  const web = (host: string, path = '/') => curl(['-k', '-H', `Host: ${host}`, '--resolve', `${host.split(':')[0]}:443:198.18.9.1`, `https://${host.split(':')[0]}${path}`]);
  const tls = (host: string) => web(host, '/x');
  /** The subject of the certificate served for an SNI name. */
  const served = async (sni: string) => String((await execa('ip', ['netns', 'exec', client, 'sh', '-c', `echo | openssl s_client -connect 198.18.9.1:443 -servername ${sni} 2>/dev/null | openssl x509 -noout -subject`], { reject: false })).stdout);

  // What an older node left: haproxy as root on :80, its config in the state dir. It goes at start.
  await mkdir(join(dir, 'gw'), { mode: 0o700 });
  await writeFile(join(dir, 'gw', 'haproxy.cfg'), 'global\n  description old\nfrontend web\n  mode http\n  bind :80\n  http-request return status 200 content-type text/plain string old\n');
  const old = spawnDetached('nsenter', [`--net=/run/netns/${pub}`, 'haproxy', '-W', '-db', '-f', join(dir, 'gw', 'haproxy.cfg')], join(dir, 'old.log'));
  defer(() => terminate(old, join(dir, 'gw', 'haproxy.cfg')));
  await writeFile(join(dir, 'gw', 'haproxy.pid'), `${old}\n`);
  await waitFor(async () => (await curl(['http://198.18.9.1/'])) === 'old', 'the old root haproxy serves', 10_000, 100);
  let proxy = new GatewayProxy({ dataDir: join(dir, 'gw'), namespace: () => pub, recheckMs: 200, log: silentLogger() });
  defer(() => proxy.stopAll());
  await proxy.start();
  assert.equal(await aliveWith(old, join(dir, 'gw', 'haproxy.cfg')), false, 'the root haproxy of an older node is stopped');
  await proxy.set({ id: '1-2-web', kind: 'gateway-name-proxy', fqdn: 'web.gw.test', tlsPassthrough: false, servers: ['10.20.2.5:8080'], namespace: user });
  assert.equal(await web('web.gw.test'), 'web:web.gw.test:/');
  // A Host with a port (HTTP/1.1: over HTTP/2 haproxy drops the default port from the authority).
  assert.equal(await curl(['--http1.1', '-k', '-H', 'Host: WEB.gw.test:443', '--resolve', 'web.gw.test:443:198.18.9.1', 'https://web.gw.test/a']), 'web:WEB.gw.test:443:/a');
  assert.equal(await web('other.gw.test'), '404 page not found');
  assert.match(await served('web.gw.test'), /CN ?= ?ZOS GATEWAY DEFAULT CERT/, 'the default certificate while the name has none');
  assert.equal(await http80('web.gw.test:80', '/a?b=1'), '301 https://web.gw.test/a?b=1', 'HTTP is redirected to https (GET: 301)');
  assert.equal(await http80('other.gw.test', '/p', 'POST'), '308 https://other.gw.test/p', 'any host, other methods: 308');
  await assertUnprivileged(join(dir, 'gw'));

  // A reload (new TLS route) while a request is in flight: the request completes.
  const slow = web('web.gw.test', '/slow');
  await new Promise((r) => setTimeout(r, 300));
  await proxy.set({ id: '1-3-tls', kind: 'gateway-name-proxy', fqdn: 'tls.gw.test', tlsPassthrough: true, servers: ['10.20.2.5:8443'], namespace: user });
  assert.equal(await slow, 'web:web.gw.test:/slow');
  assert.equal(await tls('tls.gw.test'), 'tls:/x');
  assert.match(await served('tls.gw.test'), /CN ?= ?10\.20\.2\.5/, 'the backend\'s own certificate: TLS passed through');

  // A certificate for the terminated name, then its renewal: each served for its SNI at once and
  // kept 0600 in the state dir, without a reload (a reload 503s what the old worker still holds
  // for owner networks): haproxy logs no new load, the same worker serves.
  const loads = async () => (await readFile(join(dir, 'gw', 'haproxy.log'), 'utf8')).split('Loading success').length;
  const admin = new Haproxy(join(dir, 'gw'), silentLogger());
  const worker = async () => /^Pid: (\d+)$/m.exec(await admin.admin('show info'))?.[1];
  const loaded = await loads();
  assert.ok(loaded > 1, 'haproxy logs each load');
  const workerBefore = await worker();
  assert.ok(workerBefore);
  const issue = async (days: string) => {
    await execa('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', days,
      '-subj', '/CN=web.gw.test', '-addext', 'subjectAltName=DNS:web.gw.test', '-keyout', join(dir, 'web.key'), '-out', join(dir, 'web.crt')]);
    // An empty line inside the PEM (as some CAs' chains have) must not cut haproxy's payload short.
    return `${await readFile(join(dir, 'web.crt'), 'utf8')}\n${await readFile(join(dir, 'web.key'), 'utf8')}`;
  };
  const enddate = async (sni: string) => String((await execa('ip', ['netns', 'exec', client, 'sh', '-c', `echo | openssl s_client -connect 198.18.9.1:443 -servername ${sni} 2>/dev/null | openssl x509 -noout -enddate`], { reject: false })).stdout);
  await proxy.setCertificate('web.gw.test', await issue('1'));
  assert.match(await served('web.gw.test'), /CN ?= ?web\.gw\.test/);
  const firstEnd = await enddate('web.gw.test');
  const webPem = await issue('5');
  await proxy.setCertificate('web.gw.test', webPem);
  assert.notEqual(await enddate('web.gw.test'), firstEnd, 'the renewed certificate is served');
  assert.equal(await enddate('web.gw.test'), `notAfter=${new X509Certificate(webPem).validTo}`);
  assert.equal(await loads(), loaded, 'no reload for a certificate');
  assert.equal(await worker(), workerBefore, 'the same worker serves');
  assert.equal(await readFile(join(proxyRunDir(join(dir, 'gw')), 'certs', 'web.gw.test.pem'), 'utf8'), webPem, 'staged for the next load as served');
  assert.equal((await curl(['--cacert', join(dir, 'web.crt'), '--resolve', 'web.gw.test:443:198.18.9.1', 'https://web.gw.test/v'])), 'web:web.gw.test:/v', 'verified against the name\'s certificate');
  assert.equal(await curl(['--http2', '-k', '-o', '/dev/null', '-w', '%{http_version}', '--resolve', 'web.gw.test:443:198.18.9.1', 'https://web.gw.test/']), '2', 'HTTP/2 by ALPN, as traefik');
  assert.equal((await stat(join(dir, 'gw', 'certs', 'web.gw.test.pem'))).mode & 0o777, 0o600);
  assert.deepEqual(proxy.certificates().map((c) => c.fqdn), ['web.gw.test']);
  // Challenges change in the running haproxy too.
  await proxy.setChallenge('tok-1', 'tok-1.thumbprint');
  assert.equal(await curl(['-H', 'Host: web.gw.test', 'http://198.18.9.1/.well-known/acme-challenge/tok-1']), 'tok-1.thumbprint');
  assert.equal(await curl(['-H', 'Host: web.gw.test', 'http://198.18.9.1/.well-known/acme-challenge/tok-2']), '404 page not found');
  assert.equal(await curl(['-H', 'Host: web.gw.test', 'http://198.18.9.1/.well-known/acme-challenge/tok-1/x']), '404 page not found');
  await proxy.removeChallenge('tok-1');
  assert.equal(await curl(['-H', 'Host: web.gw.test', 'http://198.18.9.1/.well-known/acme-challenge/tok-1']), '404 page not found');
  assert.equal(await loads(), loaded, 'no reload for a challenge');
  // A certificate the admin socket cannot take (a chain past the 16 KiB of haproxy's command
  // buffer: 2.6 answers nothing to the `set`) is loaded by a reload instead, from the staged file.
  await issue('9');
  const pad = String((await execa('openssl', ['req', '-config', '/dev/null', '-x509', '-newkey', 'rsa:4096', '-nodes', '-days', '1', '-subj', '/CN=pad', '-keyout', join(dir, 'pad.key')])).stdout);
  const longPem = `${await readFile(join(dir, 'web.crt'), 'utf8')}${`${pad.trim()}\n`.repeat(10)}${await readFile(join(dir, 'web.key'), 'utf8')}`;
  assert.ok(longPem.length > 16_384, `${longPem.length} bytes`);
  await proxy.setCertificate('web.gw.test', longPem);
  assert.equal(await enddate('web.gw.test'), `notAfter=${new X509Certificate(longPem).validTo}`, 'the long chain is served');
  assert.equal(await loads(), loaded + 1, 'by one reload');

  // A route whose network namespace is gone answers 503 and does not break reloads of others.
  await proxy.set({ id: '1-4-gone', kind: 'gateway-name-proxy', fqdn: 'gone.gw.test', tlsPassthrough: false, servers: ['10.20.2.9:80'], namespace: `zgw${id}-missing` });
  assert.match(await web('gone.gw.test'), /503/);

  // The user network is rebuilt (same name, a new namespace): the proxy reloads into the new one.
  backend.kill('SIGKILL');
  await backend;
  await execa('ip', ['netns', 'del', user]);
  await execa('ip', ['netns', 'add', user]);
  await startBackend();
  let again = '';
  await waitFor(async () => (again = await web('web.gw.test')) === 'web:web.gw.test:/', `served from the rebuilt network (last: ${again})`, 10_000, 200);

  const unreported = await proxy.unreportedTraffic();
  const traffic = new Map(unreported.map((x) => [x.id, x.bytes]));
  assert.ok((traffic.get('1-2-web') ?? 0) > 200, `web traffic counted across reloads: ${[...traffic]}`);
  assert.ok((traffic.get('1-3-tls') ?? 0) > 1000, `tls traffic counted: ${[...traffic]}`);
  assert.deepEqual(await proxy.unreportedTraffic(), unreported, 'kept until reported');
  await proxy.trafficReported(unreported);
  assert.deepEqual(await proxy.unreportedTraffic(), [], 'reported once');

  // A new manager (node restart) adopts the running haproxy.
  const pid = await readPid(join(dir, 'gw', 'haproxy.pid'));
  await proxy.close();
  proxy = new GatewayProxy({ dataDir: join(dir, 'gw'), namespace: () => pub, log: silentLogger() });
  await proxy.start();
  assert.equal(await readPid(join(dir, 'gw', 'haproxy.pid')), pid);
  assert.equal(await web('web.gw.test'), 'web:web.gw.test:/');
  await assertUnprivileged(join(dir, 'gw'));

  assert.match(await served('web.gw.test'), /CN ?= ?web\.gw\.test/, 'the adopted proxy keeps the stored certificate');
  await proxy.remove('1-2-web');
  assert.equal(await web('web.gw.test'), '404 page not found');
  assert.deepEqual(proxy.certificates(), [], 'the certificate goes with the last route of its name');
  assert.equal(await stat(join(dir, 'gw', 'certs', 'web.gw.test.pem')).catch(() => null), null);
  assert.match(await served('web.gw.test'), /DEFAULT CERT/);
  assert.equal(await tls('tls.gw.test'), 'tls:/x', 'other gateways keep serving');
  const last = await proxy.unreportedTraffic();
  assert.ok((last.find((x) => x.id === '1-2-web')?.bytes ?? 0) > 0, 'a removed route reports its last bytes');
  await proxy.trafficReported(last);
  await proxy.remove('1-3-tls');
  await proxy.remove('1-4-gone');
  assert.equal(await aliveWith(pid, proxyRunDir(join(dir, 'gw'))), false, 'no haproxy without routes');
  assert.equal(await web('web.gw.test'), 'curl exit 7');
});

/** CAP_NET_BIND_SERVICE (10) and CAP_SYS_ADMIN (21): what haproxy keeps, and nothing else. */
const PROXY_CAP_MASK = (1n << 10n) | (1n << 21n);

/** haproxy's master and its workers (after reloads too) run as the proxy account with only its two capabilities, in mount and UTS namespaces of their own. */
async function assertUnprivileged(gwDir: string): Promise<void> {
  const master = (await readPid(join(gwDir, 'haproxy.pid')))!;
  const children = (await readFile(`/proc/${master}/task/${master}/children`, 'utf8')).trim().split(/\s+/).filter(Boolean).map(Number);
  assert.ok(children.length > 0, 'a worker runs');
  const account = await proxyAccount();
  assert.notEqual(account.uid, 0);
  for (const pid of [master, ...children]) {
    // A worker of an older generation may finish meanwhile.
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => null);
    if (status === null && pid !== master) continue;
    assert.ok(status, 'the master runs');
    const field = (k: string) => new RegExp(`^${k}:[\\t ]*(.*)$`, 'm').exec(status)?.[1]?.trim().split(/\s+/);
    assert.deepEqual(field('Uid'), Array(4).fill(String(account.uid)), `haproxy ${pid} runs as uid ${account.uid}, not root`);
    assert.deepEqual(field('Gid'), Array(4).fill(String(account.gid)));
    assert.equal(field('Groups')?.join(' ') ?? '', '', 'no supplementary groups');
    for (const set of ['CapEff', 'CapPrm', 'CapBnd']) assert.equal(BigInt(`0x${field(set)![0]}`), PROXY_CAP_MASK, `${set} of haproxy ${pid}`);
    assert.equal(field('NoNewPrivs')?.[0], '1');
    for (const ns of ['mnt', 'uts']) assert.notEqual(await readlink(`/proc/${pid}/ns/${ns}`), await readlink(`/proc/self/ns/${ns}`), `haproxy ${pid} has its own ${ns} namespace`);
  }
}
