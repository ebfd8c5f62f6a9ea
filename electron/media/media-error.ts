import { basename } from 'node:path';

export type MediaErrorKind =
  | 'not-found'
  | 'permission-denied'
  | 'not-media'
  | 'corrupt'
  | 'no-audio-track'
  | 'no-video-track'
  | 'unsupported-codec'
  | 'ffmpeg-failed';

/**
 * Why a media file could not be used. `message` is written for the person who chose the file;
 * `detail` keeps ffmpeg's own words for logs and bug reports.
 */
export class MediaError extends Error {
  override readonly name = 'MediaError';
  readonly kind: MediaErrorKind;
  readonly path: string;
  readonly detail: string | undefined;

  constructor(kind: MediaErrorKind, path: string, message: string, options: { detail?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.path = path;
    this.detail = options.detail;
  }
}

/**
 * The user-facing sentence for each kind; `reason` adds what ffmpeg or the OS said where it
 * helps, `detail` (default: the reason) keeps ffmpeg's raw lines.
 */
export function mediaError(kind: MediaErrorKind, path: string, reason?: string, options: { detail?: string | undefined; cause?: unknown } = {}): MediaError {
  const name = `"${basename(path)}"`;
  const because = reason ? ` (${reason})` : '';
  const messages: Record<MediaErrorKind, string> = {
    'not-found': `${name} was not found${because}.`,
    'permission-denied': `${name} cannot be read: permission denied. Check the file's permissions.`,
    'not-media': `${name} is not an audio or video file that can be read${because}.`,
    corrupt: `${name} is damaged or incomplete${because}.`,
    'no-audio-track': `${name} has no audio track, so there is no speech to caption.`,
    'no-video-track': `${name} has no video track.`,
    'unsupported-codec': `${name} uses a codec this ffmpeg cannot decode${because}.`,
    'ffmpeg-failed': `ffmpeg failed while reading ${name}${because}.`,
  };
  const detail = options.detail ?? reason;
  return new MediaError(kind, path, messages[kind], { ...(detail === undefined ? {} : { detail }), cause: options.cause });
}
