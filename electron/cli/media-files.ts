import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { mediaExtensions } from '../batch/media-discovery.js';

/** Files given directly are always taken; folders are searched recursively for media files. */
export async function expandInputs(inputs: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  const visit = async (path: string, explicit: boolean): Promise<void> => {
    const info = await stat(path);
    if (info.isDirectory()) {
      const entries = (await readdir(path, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
      for (const entry of entries) {
        if (entry.name.startsWith('.')) continue;
        await visit(join(path, entry.name), false);
      }
    } else if (explicit || mediaExtensions.has(extname(path).toLowerCase())) {
      files.push(path);
    }
  };
  for (const input of inputs) await visit(input, true);
  return [...new Set(files)];
}
