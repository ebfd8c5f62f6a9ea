import type * as Ort from 'onnxruntime-node';
import type { ScaleChooser } from '../engine/caption-engine.js';
import { CaptionEngine } from '../engine/caption-engine.js';
import { captionFile, type FileCaptionDependencies } from '../engine/caption-file.js';
import type { Decoding, Recognizer } from '../engine/recognizer.js';
import { vadFrameSamples, VoiceActivityDetector } from '../engine/voice-activity.js';
import { pcmSampleRate } from '../media/decode-audio.js';
import type { Captioner } from './batch-queue.js';

/**
 * The real captioner for the batch queue: the same captionFile pipeline as the CLI, with a
 * voice-activity detector of its own per job (it keeps state), over one shared recognizer.
 */

export interface EngineCaptionerDependencies extends Omit<FileCaptionDependencies, 'engine'> {
  readonly ort: typeof Ort;
  readonly recognizer: Recognizer;
  readonly chooseScale: ScaleChooser;
  readonly decoding: Decoding;
  readonly useVideo: boolean;
}

const resumeMarginSeconds = 1;

function vadGridSeconds(seconds: number): number {
  return (Math.floor((seconds * pcmSampleRate) / vadFrameSamples) * vadFrameSamples) / pcmSampleRate;
}

export function engineCaptioner(dependencies: EngineCaptionerDependencies): Captioner {
  const { ort, recognizer, chooseScale, decoding, useVideo, ...files } = dependencies;
  return async (request) => {
    const vad = await VoiceActivityDetector.create(ort);
    try {
      const engine = new CaptionEngine(recognizer, vad);
      // A resumed job seeks to shortly before its committed point (the voice-activity detector needs
      // a little audio to settle) and drops what starts before it: nothing is decoded twice
      // beyond that margin, and nothing committed is repeated. The seek lands on the detector's
      // frame grid, so the frames after it are the frames an uninterrupted run scored.
      const startSeconds = vadGridSeconds(Math.max(0, request.resumeFromSeconds - resumeMarginSeconds));
      const result = await captionFile(
        { ...files, engine },
        request.path,
        { chooseScale, decoding, useVideo, signal: request.signal, onProgress: request.onProgress, startSeconds },
        async (segment, decision) => {
          if (segment.startSeconds < request.resumeFromSeconds) return;
          await request.onSegment({
            startSeconds: segment.startSeconds,
            endSeconds: segment.endSeconds,
            text: segment.text,
            scaleId: segment.scaleId,
            modality: segment.modality,
            confidence: segment.confidence,
            scaleReason: decision.reason,
            ...(segment.videoMissing ? { videoMissing: segment.videoMissing } : {}),
          });
        },
      );
      return { processedSeconds: result.processedSeconds, durationSeconds: result.info.durationSeconds };
    } finally {
      await vad.release();
    }
  };
}
