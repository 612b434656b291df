/**
 * Runs every benchmark in bench/ (or the ones named on the command line) one after another,
 * each in its own process so one's memory and sockets don't skew the next.
 * Usage: npm run bench [-- chain relay image]
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const dir = fileURLToPath(new URL('.', import.meta.url));
const all = readdirSync(dir).filter((f) => f.endsWith('.ts') && !['run.ts', 'rootfs.ts'].includes(f) && !f.includes('.testing.')).map((f) => f.replace(/\.ts$/, ''));
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const flags = process.argv.slice(2).filter((a) => a.startsWith('--'));
for (const name of wanted.length ? wanted : all) {
  if (!all.includes(name)) {
    console.error(`no benchmark named ${name} (have: ${all.join(', ')})`);
    process.exitCode = 2;
    continue;
  }
  console.log(`\n=== bench/${name}.ts ===`);
  const r = await execa('node', ['--import', 'tsx', `${dir}${name}.ts`, ...flags], { stdio: 'inherit', reject: false });
  if (r.exitCode !== 0) process.exitCode = 1;
}
