import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The checkout's root (the folder with package.json), found from this module's own location so
 * it is the same whether the code runs from the TypeScript sources or from the compiled dist/cli.
 */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above lib/paths');
    dir = up;
  }
  return dir;
}

export const REPO_ROOT = findRoot();

/** A path inside the checkout, e.g. repoPath('examples', 'disk.yaml'). */
export function repoPath(...parts: string[]): string {
  return join(REPO_ROOT, ...parts);
}
