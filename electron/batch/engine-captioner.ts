import type * as Ort from 'onnxruntime-node';
import type { ScaleChooser } from '../engine/caption-engine.js';
import { CaptionEngine } from '../engine/caption-engine.js';
import { captionFile, type FileCaptionDependencies } from '../engine/caption-file.js';
import type { Decoding, Recognizer } from '../engine/recognizer.js';
import { VoiceActivityDetector } from '../engine/voice-activity.js';
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

export function engineCaptioner(dependencies: EngineCaptionerDependencies): Captioner {
  const { ort, recognizer, chooseScale, decoding, useVideo, ...files } = dependencies;
  return async (request) => {
    const vad = await VoiceActivityDetector.create(ort);
    try {
      const engine = new CaptionEngine(recognizer, vad);
      // captionFile always decodes from the start; a resumed job skips what it had committed.
      // (Once captionFile takes a start time, pass request.resumeFromSeconds through instead.)
      const result = await captionFile(
        { ...files, engine },
        request.path,
        { chooseScale, decoding, useVideo, signal: request.signal, onProgress: request.onProgress },
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
