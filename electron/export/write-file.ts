import { randomBytes } from 'node:crypto';
import { link, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';

/**
 * Writes that never leave a half-written or silently replaced file: content goes to a temporary
 * file beside the target (same filesystem), is flushed, then renamed or linked into place.
 */

export class OutputExistsError extends Error {
  override readonly name = 'OutputExistsError';
  constructor(readonly path: string) {
    super(`${path} already exists; choose another folder or allow overwriting.`);
  }
}

export class OutputWriteError extends Error {
  override readonly name = 'OutputWriteError';
  constructor(
    readonly path: string,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

function describe(code: string | undefined, path: string): string {
  switch (code) {
    case 'ENOSPC':
      return `The disk is full; ${path} was not written (nothing was lost or half-written).`;
    case 'EACCES':
    case 'EPERM':
      return `No permission to write ${path}.`;
    case 'EROFS':
      return `${path} is on a read-only disk.`;
    case 'ENOENT':
      return `The folder for ${path} does not exist.`;
    case 'ENAMETOOLONG':
      return `The name ${path} is too long for this filesystem.`;
    default:
      return `Could not write ${path} (${code ?? 'unknown error'}).`;
  }
}

export async function writeFileAtomically(path: string, content: string, overwrite: boolean): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path).slice(0, 60)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temporary, 'wx');
    try {
      await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (overwrite) await rename(temporary, path);
    else {
      // link fails with EEXIST instead of replacing: no window where another writer is clobbered.
      await link(temporary, path);
      await unlink(temporary);
    }
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new OutputExistsError(path);
    throw new OutputWriteError(path, code, describe(code, path));
  }
}

/** Characters no common filesystem accepts, plus control characters. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what must go
const unsafeCharacters = /[<>:"/\\|?*\u0000-\u001f\u007f]/g;
const reservedWindowsNames = /^(con|prn|aux|nul|com\d|lpt\d)$/i;

/** A file name derived from the media's, safe on Windows, macOS and Linux and at most 200 bytes. */
export function safeCaptionFileName(mediaPath: string, extension: string): string {
  let stem = basename(mediaPath, extname(mediaPath)).replace(unsafeCharacters, '_').replace(/[. ]+$/, '').replace(/^-/, '_');
  if (stem.length === 0 || reservedWindowsNames.test(stem)) stem = `_${stem}`;
  while (Buffer.byteLength(`${stem}.${extension}`) > 200) stem = stem.slice(0, -1);
  return `${stem}.${extension}`;
}

export function captionPathFor(mediaPath: string, extension: string, outputDirectory: string | undefined): string {
  return join(outputDirectory ?? dirname(mediaPath), safeCaptionFileName(mediaPath, extension));
}
