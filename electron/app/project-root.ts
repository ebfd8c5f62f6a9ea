import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder holding Nestcap's package.json, found by walking up from a module, so the same
 * code works from `electron/` sources (tests) and from compiled `dist/electron/`.
 */
export function findProjectRoot(moduleUrl: string): string {
  let directory = dirname(fileURLToPath(moduleUrl));
  for (;;) {
    const candidate = join(directory, 'package.json');
    if (existsSync(candidate) && (JSON.parse(readFileSync(candidate, 'utf8')) as { name?: unknown }).name === 'nestcap') {
      return directory;
    }
    const parent = dirname(directory);
    if (parent === directory) throw new Error(`no Nestcap package.json above ${moduleUrl}`);
    directory = parent;
  }
}
