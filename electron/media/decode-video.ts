import { checkMediaFile, ffmpegInputUrl, streamFfmpeg, type FfmpegBinary } from './ffmpeg-process.js';

/** The frame rate the video encoder expects (AV-HuBERT-style encoders run at 25 fps). */
export const videoFrameRate = 25;

export interface FrameSize {
  readonly width: number;
  readonly height: number;
}

export interface VideoDecodeOptions {
  /** Output size; frames are scaled to exactly this. {@link fitWithin} keeps the aspect ratio. */
  readonly size: FrameSize;
  readonly fps?: number;
  readonly startSeconds?: number;
  readonly signal?: AbortSignal;
  /** Damage ffmpeg decoded past (a broken packet), as ffmpeg words it. */
  readonly onWarning?: (message: string) => void;
}

import type { GrayFrame } from './mouth-tracking.js';

export type { GrayFrame };

/**
 * Decodes the file's first video track to grayscale frames at a constant rate (frames are
 * dropped or repeated to hit it), streaming with the same bounded memory and error rules as
 * decodeAudio. A file without video fails with 'no-video-track'.
 */
export async function* decodeVideoFrames(ffmpeg: FfmpegBinary, path: string, options: VideoDecodeOptions): AsyncGenerator<GrayFrame, void, undefined> {
  const { width, height } = options.size;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`frame size must be positive integers, got ${width}x${height}`);
  }
  const fps = options.fps ?? videoFrameRate;
  const startSeconds = options.startSeconds ?? 0;
  const file = await checkMediaFile(path);
  const args = [
    '-hide_banner', '-nostdin', '-v', 'error',
    ...(startSeconds > 0 ? ['-ss', String(startSeconds)] : []),
    '-i', ffmpegInputUrl(path),
    '-map', '0:v:0', '-an', '-sn', '-dn',
    // fps before scale: frames that are dropped are never scaled.
    '-vf', `fps=${fps},scale=${width}:${height}:flags=area,format=gray`,
    '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1',
  ];
  const frameBytes = width * height;
  let index = 0;
  for await (const pixels of streamFfmpeg({ ffmpeg, path, args, chunkBytes: frameBytes, unitBytes: frameBytes, signal: options.signal, header: file.header, onWarning: options.onWarning })) {
    yield { timeSeconds: startSeconds + index / fps, width, height, pixels };
    index += 1;
  }
}

/** The largest size within the bounds that keeps the source's aspect ratio, in even pixels. */
export function fitWithin(source: FrameSize, maxWidth: number, maxHeight: number): FrameSize {
  const scale = Math.min(1, maxWidth / source.width, maxHeight / source.height);
  const even = (value: number) => Math.max(2, 2 * Math.round((value * scale) / 2));
  return { width: even(source.width), height: even(source.height) };
}
