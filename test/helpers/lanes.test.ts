import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

const LANES = new URL('./lanes.mjs', import.meta.url).pathname;

test("lanes: the side lane runs beside the main one, its report follows the main lane's whole, the alone files run after both; any part's failure fails the run", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'zos-lanes-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 't'));
  // The side file and a main file each wait 1.5 s for a mark the other one leaves: only lanes that run side by side both pass.
  // The side file then takes 1 s more, so the main lane is done well before it.
  const waitFor = (mine: string, theirs: string, thenMs = 0) => `import { test } from 'node:test';
import { existsSync, writeFileSync } from 'node:fs';
test('${mine} meets ${theirs}', async () => {
  writeFileSync(${JSON.stringify(join(dir, mine))}, '');
  for (let i = 0; i < 30 && !existsSync(${JSON.stringify(join(dir, theirs))}); i++) await new Promise((r) => setTimeout(r, 100));
  if (!existsSync(${JSON.stringify(join(dir, theirs))})) throw new Error('ran alone');
  await new Promise((r) => setTimeout(r, ${thenMs}));
  writeFileSync(${JSON.stringify(join(dir, `${mine}-end`))}, '');
});
`;
  await writeFile(join(dir, 't/a.test.ts'), waitFor('main', 'side'));
  await writeFile(join(dir, 't/b.test.ts'), "import { test } from 'node:test';\ntest('b passes', () => {});\n");
  await writeFile(join(dir, 't/s.test.ts'), waitFor('side', 'main', 1_000));
  // Alone: only after both lanes ended (in the main lane it would run while the side file still waits).
  await writeFile(join(dir, 't/z.test.ts'), `import { test } from 'node:test';
import { existsSync } from 'node:fs';
test('z after both', () => { if (!existsSync(${JSON.stringify(join(dir, 'side-end'))}) || !existsSync(${JSON.stringify(join(dir, 'main-end'))})) throw new Error('ran beside a lane'); });
`);
  const run = (side: string) => execa(process.execPath, [LANES, '--no-tsc', '--side', side, '--alone', 't/z.test.ts', 't'], { cwd: dir, reject: false, extendEnv: false, env: { PATH: process.env.PATH } });

  const ok = await run('t/s.test.ts');
  assert.equal(ok.exitCode, 0, ok.stdout);
  const out = String(ok.stdout);
  const at = (s: string) => out.indexOf(s);
  assert.ok(at('ok 1 - main meets side') >= 0 && at('ok 2 - b passes') >= 0, 'the main lane ran its files');
  assert.ok(at('# side lane (ran beside the one above): t/s.test.ts') > at('ok 2 - b passes'), "the side lane's report comes after the main lane's");
  assert.ok(at('ok 1 - side meets main') > at('# side lane'));
  assert.ok(at('# alone, after both lanes: t/z.test.ts') > at('ok 1 - side meets main'));
  assert.ok(at('ok 1 - z after both') > at('# alone'));
  assert.match(out.trimEnd().split('\n').at(-1)!, /^# lanes: 2 files [\d.]+ s exit 0; side lane 1 files [\d.]+ s exit 0; alone 1 files [\d.]+ s exit 0$/);

  await writeFile(join(dir, 't/s.test.ts'), "import { test } from 'node:test';\ntest('side fails', () => { throw new Error('side broke'); });\n");
  for (const f of ['side', 'side-end', 'main-end']) await rm(join(dir, f));
  const bad = await run('t/s.test.ts');
  assert.notEqual(bad.exitCode, 0, 'a failure in the side lane fails the run');
  assert.match(String(bad.stdout), /not ok 1 - side fails/);
  assert.match(String(bad.stdout), /# lanes: .* exit 1; side lane 1 files .* exit 1; alone 1 files .* exit 1$/m, "the main lane's file that met no one failed too, and so the alone file");
});
