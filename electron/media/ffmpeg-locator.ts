import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import type { FfmpegSource } from '../ipc/contract.js';

/**
 * Finds the ffmpeg binary the app will use.
 *
 * Order: FFMPEG_PATH (the user's explicit choice), then the binary shipped by ffmpeg-static,
 * then `ffmpeg` on PATH (e.g. Debian's package where ffmpeg-static could not download).
 */

export interface FfmpegLocation {
  readonly path: string;
  readonly source: FfmpegSource;
}

export interface FfmpegInfo extends FfmpegLocation {
  readonly version: string;
}

export class FfmpegNotFoundError extends Error {
  override readonly name = 'FfmpegNotFoundError';
}

export interface LocatorInputs {
  readonly env: NodeJS.ProcessEnv;
  readonly platform: NodeJS.Platform;
  /** Path of ffmpeg-static's binary, or undefined when that optional package is not installed. */
  readonly bundledPath: string | undefined;
}

export function locateFfmpeg(inputs: LocatorInputs): FfmpegLocation {
  const explicit = inputs.env.FFMPEG_PATH?.trim();
  if (explicit) {
    if (!isExecutable(explicit)) {
      throw new FfmpegNotFoundError(`FFMPEG_PATH is set to "${explicit}", but no executable file is there.`);
    }
    return { path: explicit, source: 'FFMPEG_PATH' };
  }
  if (inputs.bundledPath !== undefined && isExecutable(inputs.bundledPath)) {
    return { path: inputs.bundledPath, source: 'ffmpeg-static' };
  }
  const executableName = inputs.platform === 'win32' ? 'ffmpeg.exe' : 'ffmpeg';
  for (const directory of (inputs.env.PATH ?? '').split(delimiter)) {
    if (directory === '') continue;
    const candidate = join(directory, executableName);
    if (isExecutable(candidate)) return { path: candidate, source: 'PATH' };
  }
  throw new FfmpegNotFoundError(
    'ffmpeg was not found: set FFMPEG_PATH, reinstall so ffmpeg-static can download its binary, ' +
      'or install ffmpeg on PATH (e.g. `apt-get install ffmpeg`).',
  );
}

/**
 * Finds ffprobe for a located ffmpeg: beside it first (Debian and most builds ship both in one
 * folder), then on PATH. ffmpeg-static ships no ffprobe, so undefined is an ordinary answer and
 * callers fall back to reading `ffmpeg -i`.
 */
export function locateFfprobe(ffmpeg: FfmpegLocation, env: NodeJS.ProcessEnv, platform: NodeJS.Platform): string | undefined {
  const executableName = platform === 'win32' ? 'ffprobe.exe' : 'ffprobe';
  const beside = join(dirname(ffmpeg.path), executableName);
  if (isExecutable(beside)) return beside;
  for (const directory of (env.PATH ?? '').split(delimiter)) {
    if (directory === '') continue;
    const candidate = join(directory, executableName);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** The path ffmpeg-static reports, adjusted for an asar-packed app where binaries are unpacked. */
export function bundledFfmpegPath(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const reported = require('ffmpeg-static') as unknown;
    if (typeof reported !== 'string') return undefined;
    return reported.replace(`app.asar${pathSeparatorPattern()}`, `app.asar.unpacked${pathSeparatorPattern()}`);
  } catch {
    return undefined;
  }
}

function pathSeparatorPattern(): string {
  return process.platform === 'win32' ? '\\' : '/';
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Runs `ffmpeg -version` and returns the version word of its first line. */
export async function readFfmpegVersion(location: FfmpegLocation, timeoutMs = 10_000): Promise<FfmpegInfo> {
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(location.path, ['-hide_banner', '-version'], { timeout: timeoutMs }, (error, out) => {
      if (error) reject(new Error(`could not run ${location.path} -version: ${error.message}`));
      else resolve(out);
    });
  });
  const match = /^ffmpeg version (\S+)/m.exec(stdout);
  if (!match?.[1]) throw new Error(`unexpected output from ${location.path} -version`);
  return { ...location, version: match[1] };
}
