import { createHash } from 'node:crypto';
import { createReadStream, type Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';

/**
 * Finding media files in folders. A folder tree is never all-or-nothing: an entry that cannot
 * be used (unreadable, vanished mid-scan, a name that is not UTF-8, a path too long for the
 * system) is listed with the reason and the scan goes on.
 */

/** Extensions picked up from folders, by the library scan and the CLI alike. */
export const mediaExtensions: ReadonlySet<string> = new Set([
  '.mp4', '.m4v', '.mov', '.mkv', '.webm', '.avi', '.wmv', '.mpg', '.mpeg', '.ts', '.m2ts', '.3gp', '.flv',
  '.wav', '.mp3', '.m4a', '.aac', '.flac', '.ogg', '.oga', '.opus', '.wma', '.aiff', '.aif',
]);

export interface DiscoveredFile {
  readonly path: string;
  readonly sizeBytes: number;
  readonly modifiedMs: number;
}

export type SkipReason = 'permission-denied' | 'vanished' | 'name-not-utf8' | 'path-too-long' | 'unreadable';

export interface SkippedEntry {
  readonly path: string;
  readonly reason: SkipReason;
  readonly message: string;
}

export interface Discovery {
  readonly files: readonly DiscoveredFile[];
  readonly skipped: readonly SkippedEntry[];
}

export class FolderError extends Error {
  override readonly name = 'FolderError';
  constructor(
    readonly kind: 'not-found' | 'not-a-folder' | 'permission-denied' | 'unreadable',
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

export function skipFor(path: string, error: unknown): SkippedEntry {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return { path, reason: 'permission-denied', message: `${path} cannot be read: permission denied.` };
    case 'ENOENT':
      return { path, reason: 'vanished', message: `${path} disappeared while the folder was being read.` };
    case 'ENAMETOOLONG':
      return { path, reason: 'path-too-long', message: `${path.slice(0, 80)}… is too long a path for this system; move it to a shorter one.` };
    default:
      return { path, reason: 'unreadable', message: `${path} cannot be read (${code ?? String(error)}).` };
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export interface DiscoverOptions {
  readonly recursive?: boolean;
  /** Lower-case with the dot; default mediaExtensions. */
  readonly extensions?: ReadonlySet<string>;
}

export async function discoverMedia(folder: string, options: DiscoverOptions = {}): Promise<Discovery> {
  const extensions = options.extensions ?? mediaExtensions;
  const files: DiscoveredFile[] = [];
  const skipped: SkippedEntry[] = [];
  try {
    if (!(await stat(folder)).isDirectory()) throw new FolderError('not-a-folder', folder, `${folder} is a file, not a folder.`);
  } catch (error) {
    if (error instanceof FolderError) throw error;
    const skip = skipFor(folder, error);
    if (skip.reason === 'vanished') throw new FolderError('not-found', folder, `The folder ${folder} does not exist.`);
    throw new FolderError(skip.reason === 'permission-denied' ? 'permission-denied' : 'unreadable', folder, skip.message);
  }
  const visit = async (directory: string, top: boolean): Promise<void> => {
    let entries: Dirent<Buffer>[];
    try {
      entries = await readdir(directory, { withFileTypes: true, encoding: 'buffer' });
    } catch (error) {
      if (top) throw new FolderError('unreadable', directory, skipFor(directory, error).message);
      skipped.push(skipFor(directory, error));
      return;
    }
    const named = entries.map((entry) => ({ entry, name: decodeName(entry.name) }));
    named.sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''));
    for (const { entry, name } of named) {
      if (name === undefined) {
        // ffmpeg and every other tool get paths as text; a name that is not UTF-8 cannot be passed on.
        const shown = join(directory, entry.name.toString('latin1'));
        skipped.push({ path: shown, reason: 'name-not-utf8', message: `${shown}: the name is not valid UTF-8 text, so it cannot be opened; rename it.` });
        continue;
      }
      if (name.startsWith('.')) continue;
      const path = join(directory, name);
      if (entry.isDirectory()) {
        if (options.recursive !== false) await visit(path, false);
        continue;
      }
      if (!(entry.isFile() || entry.isSymbolicLink()) || !extensions.has(extname(name).toLowerCase())) continue;
      try {
        const info = await stat(path);
        if (info.isFile()) files.push({ path, sizeBytes: info.size, modifiedMs: info.mtimeMs });
      } catch (error) {
        skipped.push(skipFor(path, error));
      }
    }
  };
  await visit(folder, true);
  return { files, skipped };
}

function decodeName(name: Buffer): string | undefined {
  try {
    return strictUtf8.decode(name);
  } catch {
    return undefined;
  }
}

/** SHA-256 of the whole file, streamed: identical content is found whatever the file is called. */
export async function hashFile(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20, signal })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
