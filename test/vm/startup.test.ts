import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitCommand } from '../../node/host/vm/seed.ts';
import { applyStartup, parseStartup } from '../../node/primitives/zmachine/startup.ts';

/** zos' own sample (zosbase pkg/container/startup_test.go), as a converted container image carries it. */
const SAMPLE = `[startup]

[startup.entry]
name = "core.system"

[startup.entry.args]
name = "/start"
dir = "/data"
args = [
	"extra",
	"argument with spaces",
	"with \\"skip\\"",
]

[startup.entry.args.env]
DIFFICULTY = "easy"
LEVEL = "world"
SERVER_PORT = "25565"
`;

test('.startup.toml: the entry zos reads (core.system, or core.base naming a program), its arguments quoted as zos does', () => {
  const entry = parseStartup(SAMPLE)!;
  assert.equal(entry.entrypoint, '/start "extra" "argument with spaces" "with \\"skip\\""');
  assert.deepEqual(splitCommand(entry.entrypoint), ['/start', 'extra', 'argument with spaces', 'with "skip"']);
  assert.deepEqual(entry.env, { DIFFICULTY: 'easy', LEVEL: 'world', SERVER_PORT: '25565' });

  const withName = (name: string, prog = '/start') => parseStartup(`[startup.entry]\nname = "${name}"\n[startup.entry.args]\nname = "${prog}"\n`)!.entrypoint;
  assert.equal(withName('core.base'), '/start');
  assert.equal(withName('core.base', ''), '', 'core.base without a program');
  assert.equal(withName('core.system', ''), '', 'core.system without a program: nothing to run');
  assert.equal(withName('other'), '', 'any other kind has no entrypoint');
  // Go's decoder matches struct fields ignoring case; map keys (the entry's name, env names) exactly.
  assert.deepEqual(parseStartup('[STARTUP.entry]\nNAME = "core.system"\n[STARTUP.entry.Args]\nName = "/x"\nENV = { Key = "v" }\n'), { entrypoint: '/x', env: { Key: 'v' } });
  assert.equal(parseStartup('[startup.Entry]\nname = "core.system"\n'), undefined, 'only `entry`');
  assert.equal(parseStartup('title = "no startup"\n'), undefined);
  assert.equal(parseStartup(''), undefined);
});

test('.startup.toml: what zos cannot decode fails the VM; other entries must decode too', () => {
  assert.throws(() => parseStartup('[startup.entry\nname = 1'), /^Error: toml: /);
  assert.throws(() => parseStartup('[startup.entry.args.env]\nPORT = 25565\n'), /TOML key "startup\.entry\.args\.env\.PORT" has type int64; destination has type string/);
  assert.throws(() => parseStartup('[startup.entry.args]\nargs = ["a", 1.5]\n'), /startup\.entry\.args\.args\[1\]" has type float64/);
  assert.throws(() => parseStartup('[startup.entry]\nname = true\n'), /has type bool; destination has type string/);
  assert.throws(() => parseStartup('[startup.other.args]\ndir = 3\n'), /startup\.other\.args\.dir/);
  assert.throws(() => parseStartup('startup = "x"\n'), /TOML key "startup" has type string/);
});

test(".startup.toml merge (zos' fListStartup): env of both with the deployment's value winning; the image's entrypoint only where the deployment's is empty", () => {
  const image = { entrypoint: '/start "a"', env: { HELLO: 'image', FOO: 'BAR' } };
  assert.deepEqual(applyStartup({ entrypoint: '', env: { HELLO: 'mine', SSH_KEY: 'k' } }, image), { entrypoint: '/start "a"', env: { HELLO: 'mine', FOO: 'BAR', SSH_KEY: 'k' } });
  assert.deepEqual(applyStartup({ entrypoint: '/bin/mine', env: {} }, image), { entrypoint: '/bin/mine', env: { HELLO: 'image', FOO: 'BAR' } });
  assert.deepEqual(applyStartup({ entrypoint: ' ', env: {} }, image).entrypoint, ' ', 'only an empty string counts as none, as in zos');
  assert.deepEqual(applyStartup({ entrypoint: '', env: { A: '1' } }, { entrypoint: '', env: {} }), { entrypoint: '', env: { A: '1' } });
  assert.deepEqual(applyStartup({ entrypoint: 'x', env: { A: '1' } }, undefined), { entrypoint: 'x', env: { A: '1' } }, 'no file, no change');
});
