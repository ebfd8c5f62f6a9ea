import { spawn } from 'node:child_process';
import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { mediaError, type MediaError, type MediaErrorKind } from './media-error.js';

/**
 * What the probe and both decoders share: checking the file before ffmpeg sees it, naming it
 * so ffmpeg cannot mistake it for an option or a protocol, running ffmpeg as a byte stream with
 * backpressure, and turning ffmpeg's stderr into a {@link MediaError}.
 */

/** Enough of an ffmpeg location for the media layer (FfmpegLocation satisfies it). */
export interface FfmpegBinary {
  readonly path: string;
}

/**
 * `file:` plus an absolute path: a name like `-i.wav` cannot be read as an option, and one like
 * `concat:a|b` or `http:x` cannot select another protocol.
 */
export function ffmpegInputUrl(path: string): string {
  return `file:${resolve(path)}`;
}

export interface CheckedFile {
  readonly sizeBytes: number;
  /** The first bytes, to tell a damaged media file from something that never was one. */
  readonly header: Uint8Array;
}

/** The OS's answer first: ffmpeg's messages for a missing or unreadable file are less clear. */
export async function checkMediaFile(path: string): Promise<CheckedFile> {
  let size: number;
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw mediaError('not-media', path, 'it is a folder');
    if (!info.isFile()) throw mediaError('not-media', path, 'it is not a regular file');
    size = info.size;
  } catch (error) {
    throw fileSystemError(error, path);
  }
  if (size === 0) throw mediaError('not-media', path, 'the file is empty');
  try {
    const handle = await open(path, 'r');
    try {
      const header = new Uint8Array(64);
      const { bytesRead } = await handle.read(header, 0, header.length, 0);
      return { sizeBytes: size, header: header.subarray(0, bytesRead) };
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw fileSystemError(error, path);
  }
}

function fileSystemError(error: unknown, path: string): MediaError {
  if (error instanceof Error && error.name === 'MediaError') return error as MediaError;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return mediaError('not-found', path, undefined, { cause: error });
  if (code === 'ENOTDIR') return mediaError('not-found', path, 'a folder in its path is a file', { cause: error });
  if (code === 'ENAMETOOLONG') return mediaError('not-found', path, 'the name is longer than the file system allows', { cause: error });
  if (code === 'EACCES' || code === 'EPERM') return mediaError('permission-denied', path, undefined, { cause: error });
  if (code === 'ELOOP') return mediaError('not-found', path, 'its path loops through symbolic links', { cause: error });
  return mediaError('ffmpeg-failed', path, error instanceof Error ? error.message : String(error), { cause: error });
}

/**
 * Signatures of containers ffmpeg reads. ffmpeg picks a demuxer partly by extension, so random
 * bytes named `.mp4` get the same "moov atom not found" as a real MP4 cut short; the header
 * tells the two apart.
 */
export function looksLikeMediaContainer(header: Uint8Array): boolean {
  const ascii = (from: number, to: number) => String.fromCharCode(...header.subarray(from, to));
  const at4 = ascii(4, 8);
  if (['ftyp', 'moov', 'mdat', 'free', 'skip', 'wide', 'pnot'].includes(at4)) return true;
  if (header[0] === 0x1a && header[1] === 0x45 && header[2] === 0xdf && header[3] === 0xa3) return true; // EBML: mkv, webm
  const first4 = ascii(0, 4);
  if (['RIFF', 'RIFX', 'RF64', 'OggS', 'fLaC', 'FORM', 'caff', '.snd', 'wvpk'].includes(first4)) return true;
  if (ascii(0, 3) === 'ID3' || ascii(0, 3) === 'FLV') return true;
  if (header[0] === 0x30 && header[1] === 0x26 && header[2] === 0xb2 && header[3] === 0x75) return true; // ASF: wma, wmv
  if (header[0] === 0x00 && header[1] === 0x00 && header[2] === 0x01 && (header[3] === 0xba || header[3] === 0xb3)) return true; // MPEG-PS
  if (header[0] === 0x47 && header.length < 189) return true; // MPEG-TS sync byte; too short to check the next packet
  if (header[0] === 0xff && ((header[1] ?? 0) & 0xe0) === 0xe0) return true; // MPEG audio or ADTS frame sync
  return false;
}

/** Lines of ffmpeg's stderr that explain a failure, classified into what the user is told. */
export function classifyFfmpegFailure(stderr: string, path: string, header: Uint8Array | undefined): MediaError {
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('To ignore this') && !line.startsWith('Consider increasing'));
  const detail = lines.slice(-3).join(' / ') || 'no error message';
  const reason = summarize(lines);
  const has = (pattern: RegExp) => pattern.test(stderr);
  const kind: MediaErrorKind = (() => {
    if (has(/No such file or directory/)) return 'not-found';
    if (has(/Permission denied/)) return 'permission-denied';
    if (has(/Stream map '0:a[^']*' matches no streams/)) return 'no-audio-track';
    if (has(/Stream map '0:v[^']*' matches no streams/)) return 'no-video-track';
    if (has(/Decoder \(codec [^)]*\) not found|[Nn]o decoder found|[Uu]nsupported codec|codec not currently supported|unknown codec/)) {
      return 'unsupported-codec';
    }
    if (has(/moov atom not found|Invalid data found when processing input|EBML header parsing failed|partial file|ended prematurely|[Tt]runcat/)) {
      return header === undefined || looksLikeMediaContainer(header) ? 'corrupt' : 'not-media';
    }
    return 'ffmpeg-failed';
  })();
  const quiet = kind === 'not-media' || kind === 'no-audio-track' || kind === 'no-video-track';
  return mediaError(kind, path, quiet ? undefined : reason, { detail });
}

/** ffmpeg's lines name the file by its URL; the user already knows which file it is. */
function summarize(lines: readonly string[]): string | undefined {
  const meaningful = lines.find((line) => /moov atom|partial file|ended prematurely|[Tt]runcat|Invalid data|EBML|codec|[Dd]ecoder/.test(line)) ?? lines.at(-1);
  if (meaningful === undefined) return undefined;
  return meaningful
    .replace(/^\[[^\]]*\]\s*/, '')
    .replace(/^file:.*?: /, '')
    .replace(/ for input stream #\d+:\d+/, '');
}

/**
 * Markers of input that ended early even though ffmpeg exited 0 with what it could decode.
 * Other errors on a clean exit are damaged packets ffmpeg skipped: warnings, not failures, so
 * one glitch does not sink a two-hour recording.
 */
export function reportsTruncation(stderr: string): boolean {
  return /partial file|ended prematurely|[Tt]runcat|moov atom not found/.test(stderr);
}

export interface StreamFfmpegOptions {
  readonly ffmpeg: FfmpegBinary;
  readonly path: string;
  readonly args: readonly string[];
  /** Bytes per yielded chunk; every chunk but the last is exactly this long. */
  readonly chunkBytes: number;
  /** The last chunk is cut to a whole number of these (a sample, a frame). */
  readonly unitBytes: number;
  readonly signal?: AbortSignal | undefined;
  readonly header: Uint8Array;
  /** Each error line ffmpeg prints while it goes on decoding (a damaged packet it skipped). */
  readonly onWarning?: ((message: string) => void) | undefined;
}

const stderrKeepBytes = 16 * 1024;
const maxWarnings = 100;

/**
 * Runs ffmpeg writing raw data to stdout and yields it in fixed-size chunks.
 *
 * Backpressure comes from pulling: stdout is read only when the consumer asks for the next
 * chunk, so a slow consumer leaves the pipe full and ffmpeg blocks on its write instead of
 * filling this process's memory. Leaving the loop early or aborting kills ffmpeg. A failure
 * (non-zero exit, or input that ended early) is thrown after the data that did decode.
 */
export async function* streamFfmpeg(options: StreamFfmpegOptions): AsyncGenerator<Uint8Array, void, undefined> {
  const { signal } = options;
  signal?.throwIfAborted();
  const child = spawn(options.ffmpeg.path, options.args, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
  let stderr = '';
  let partialLine = '';
  let warnings = 0;
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    stderr = (stderr + text).slice(-stderrKeepBytes);
    if (options.onWarning === undefined) return;
    const lines = (partialLine + text).split('\n');
    partialLine = lines.pop() ?? '';
    for (const line of lines) {
      // A badly damaged file can print an error per packet; the first ones say enough.
      if (line.trim() !== '' && warnings < maxWarnings) options.onWarning(line.trim());
      warnings += 1;
    }
  });
  const exited = new Promise<{ code: number | null; spawnError: Error | undefined }>((resolvePromise) => {
    let spawnError: Error | undefined;
    child.once('error', (error) => {
      spawnError = error;
      // 'close' does not always follow a failed spawn.
      if (child.pid === undefined) resolvePromise({ code: null, spawnError });
    });
    child.once('close', (code) => resolvePromise({ code, spawnError }));
  });
  const onAbort = () => {
    child.kill('SIGKILL');
    child.stdout.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
  };
  signal?.addEventListener('abort', onAbort, { once: true });

  let chunk = new Uint8Array(options.chunkBytes);
  let filled = 0;
  try {
    for await (const piece of child.stdout as AsyncIterable<Buffer>) {
      let offset = 0;
      while (offset < piece.length) {
        const take = Math.min(piece.length - offset, chunk.length - filled);
        chunk.set(piece.subarray(offset, offset + take), filled);
        filled += take;
        offset += take;
        if (filled === chunk.length) {
          yield chunk;
          chunk = new Uint8Array(options.chunkBytes);
          filled = 0;
        }
      }
    }
    const { code, spawnError } = await exited;
    signal?.throwIfAborted();
    if (spawnError !== undefined) {
      throw mediaError('ffmpeg-failed', options.path, `could not start ${options.ffmpeg.path}: ${spawnError.message}`, { cause: spawnError });
    }
    const whole = filled - (filled % options.unitBytes);
    if (code !== 0) {
      if (whole > 0) yield chunk.slice(0, whole);
      throw classifyFfmpegFailure(stderr, options.path, options.header);
    }
    if (whole > 0) yield chunk.slice(0, whole);
    if (reportsTruncation(stderr)) {
      const error = classifyFfmpegFailure(stderr, options.path, options.header);
      throw error.kind === 'ffmpeg-failed' ? mediaError('corrupt', options.path, error.detail) : error;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      child.kill('SIGKILL');
      await exited;
    }
  }
}
