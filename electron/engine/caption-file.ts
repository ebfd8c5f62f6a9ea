import { decodeAudio } from '../media/decode-audio.js';
import { decodeVideoFrames, fitWithin } from '../media/decode-video.js';
import type { FfmpegBinary } from '../media/ffmpeg-process.js';
import { MouthRoiTracker, type FaceLandmarker } from '../media/mouth-roi.js';
import { probeMedia, requireAudio, type MediaInfo } from '../media/probe.js';
import type { CaptionEngine, CaptionOptions, CaptionSegment, MouthFrame, ScaleDecision } from './caption-engine.js';

/**
 * One media file through the whole pipeline: probe → streaming decode (audio, and mouth ROIs
 * from the video when lip reading is on) → caption engine. Used by the CLI, the batch queue
 * and the hosts alike.
 */

export interface FileCaptionDependencies {
  readonly ffmpeg: FfmpegBinary;
  readonly ffprobePath: string | null;
  readonly engine: CaptionEngine;
  /** Absent: audio only. */
  readonly landmarker?: FaceLandmarker;
  readonly roiSize: number;
}

export type FileCaptionOptions = Omit<CaptionOptions, 'onSegment' | 'onProgress'> & {
  readonly onProgress?: (processedSeconds: number, durationSeconds: number | undefined) => void;
  /** Decode from here (a resumed job): ffmpeg seeks, so nothing before it is decoded again. */
  readonly startSeconds?: number;
};

export interface FileCaptionResult {
  readonly info: MediaInfo;
  readonly segments: number;
  readonly processedSeconds: number;
}

/** Largest frame the face detector sees; detection cost grows with pixels, accuracy hardly does. */
const detectionFrameSide = 320;

async function* mouthFrames(
  dependencies: FileCaptionDependencies,
  landmarker: FaceLandmarker,
  info: MediaInfo,
  signal: AbortSignal | undefined,
  startSeconds: number,
): AsyncGenerator<MouthFrame> {
  const size = fitWithin({ width: info.video!.width, height: info.video!.height }, detectionFrameSide, detectionFrameSide);
  const tracker = new MouthRoiTracker(landmarker, { roiSize: dependencies.roiSize });
  for await (const frame of decodeVideoFrames(dependencies.ffmpeg, info.path, { size, signal, startSeconds })) {
    const roi = await tracker.track(frame);
    yield { timeSeconds: frame.timeSeconds, roi: roi?.pixels };
  }
}

async function* pcm(dependencies: FileCaptionDependencies, info: MediaInfo, signal: AbortSignal | undefined, startSeconds: number) {
  // The probed duration lets the decoder notice a file that stops early (a cut-off MP3).
  const options = {
    startSeconds,
    ...(signal ? { signal } : {}),
    ...(info.durationSeconds !== undefined ? { expectedDurationSeconds: info.durationSeconds } : {}),
  };
  for await (const chunk of decodeAudio(dependencies.ffmpeg, info.path, options)) yield chunk.samples;
}

export async function captionFile(
  dependencies: FileCaptionDependencies,
  path: string,
  options: FileCaptionOptions,
  onSegment: (segment: CaptionSegment, decision: ScaleDecision) => void | Promise<void>,
): Promise<FileCaptionResult> {
  const info = await probeMedia(dependencies.ffmpeg, path, { ffprobePath: dependencies.ffprobePath });
  requireAudio(info);
  const { startSeconds: requestedStart = 0, ...captionOptions } = options;
  if (!(requestedStart >= 0)) throw new RangeError(`startSeconds must be 0 or more, got ${requestedStart}`);
  // Past the end (a job that had finished all but its tail): decode nothing rather than fail.
  const startSeconds = info.durationSeconds !== undefined ? Math.min(requestedStart, info.durationSeconds) : requestedStart;
  const landmarker = options.useVideo ? dependencies.landmarker : undefined;
  const video = landmarker !== undefined && info.video !== undefined ? mouthFrames(dependencies, landmarker, info, options.signal, startSeconds) : undefined;
  const result = await dependencies.engine.caption(
    {
      durationSeconds: info.durationSeconds,
      startSeconds,
      audio: pcm(dependencies, info, options.signal, startSeconds),
      ...(video ? { mouthFrames: video } : {}),
    },
    {
      ...captionOptions,
      onSegment,
      onProgress: (progress) => options.onProgress?.(progress.processedSeconds, progress.durationSeconds),
    },
  );
  return { info, segments: result.segments, processedSeconds: result.processedSeconds };
}
