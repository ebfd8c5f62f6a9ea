import type { Task } from './bundle-manifest.js';
import type { Decoding, Recognizer } from './recognizer.js';
import { SpeechSegmenter, type SegmenterOptions, type SpeechSpan } from './speech-segmenter.js';
import { vadFrameSamples, type VoiceActivityDetector } from './voice-activity.js';
import { AudioHistory, concatSamples, packFrames } from './chunk-media.js';

/**
 * Media streams in, timed caption segments out: VAD phrases → per-phrase scale (fixed or from
 * the policy) → recognizer. Audio and mouth frames are pulled as streams and only the current
 * phrase is kept, so memory does not grow with the length of the input.
 */

export type Modality = 'audio' | 'video' | 'audio-visual';

export interface CaptionSegment {
  readonly startSeconds: number;
  readonly endSeconds: number;
  readonly text: string;
  readonly scaleId: string;
  readonly modality: Modality;
  readonly confidence: number;
  /** Why a chunk ran without video although lip video was wanted. */
  readonly videoMissing?: 'no-video-track' | 'no-face';
}

export interface MouthFrame {
  readonly timeSeconds: number;
  /** Grayscale ROI at the bundle's size, or undefined when no face was found in this frame. */
  readonly roi: Uint8Array | undefined;
}

export interface MediaStreams {
  /** Total length when known, for progress. */
  readonly durationSeconds: number | undefined;
  /**
   * Media time of the first audio sample (a resumed file decodes from here); segment times,
   * progress and mouth-frame times are all in media time. Default 0.
   */
  readonly startSeconds?: number;
  /** 16 kHz mono samples, in chunks of any size. */
  readonly audio: AsyncIterable<Float32Array>;
  readonly mouthFrames?: AsyncIterable<MouthFrame>;
}

export interface ScaleContext {
  readonly chunkIndex: number;
  readonly chunkSeconds: number;
  /** Processing time / media time over the chunks so far. */
  readonly realTimeFactor: number | undefined;
}

export interface ScaleDecision {
  readonly scaleIndex: number;
  readonly reason: string;
}

export type ScaleChooser = (context: ScaleContext) => ScaleDecision;

export function fixedScale(scaleIndex: number): ScaleChooser {
  return () => ({ scaleIndex, reason: 'fixed scale chosen by the user' });
}

export interface CaptionProgress {
  readonly processedSeconds: number;
  readonly durationSeconds: number | undefined;
  readonly segments: number;
}

export interface CaptionOptions {
  readonly chooseScale: ScaleChooser;
  readonly decoding: Decoding;
  /** Use lip video when the stream has it. */
  readonly useVideo: boolean;
  readonly segmenter?: Partial<SegmenterOptions>;
  /** Audio kept on each side of a phrase so word edges are not clipped. */
  readonly paddingSeconds?: number;
  /** Share of a phrase's frames that must show a face for it to run audio-visually. */
  readonly minFaceCoverage?: number;
  readonly onSegment: (segment: CaptionSegment, decision: ScaleDecision) => void | Promise<void>;
  readonly onProgress?: (progress: CaptionProgress) => void;
  readonly signal?: AbortSignal;
}

const sampleRate = 16000;

/** Pulls mouth frames lazily up to a time, keeping only those a phrase can still need. */
class FrameCursor {
  readonly #iterator: AsyncIterator<MouthFrame> | undefined;
  #frames: MouthFrame[] = [];
  #exhausted: boolean;

  constructor(frames: AsyncIterable<MouthFrame> | undefined) {
    this.#iterator = frames?.[Symbol.asyncIterator]();
    this.#exhausted = frames === undefined;
  }

  get hasVideo(): boolean {
    return this.#iterator !== undefined;
  }

  async take(startSeconds: number, endSeconds: number): Promise<MouthFrame[]> {
    while (!this.#exhausted && (this.#frames.at(-1)?.timeSeconds ?? -Infinity) < endSeconds) {
      const next = await this.#iterator!.next();
      if (next.done) this.#exhausted = true;
      else this.#frames.push(next.value);
    }
    this.#frames = this.#frames.filter((frame) => frame.timeSeconds >= startSeconds);
    return this.#frames.filter((frame) => frame.timeSeconds < endSeconds);
  }

  async close(): Promise<void> {
    await this.#iterator?.return?.();
  }
}

const modalityOf: Readonly<Record<Task, Modality>> = { asr: 'audio', vsr: 'video', avsr: 'audio-visual' };

export class CaptionEngine {
  readonly #recognizer: Recognizer;
  readonly #vad: VoiceActivityDetector;

  constructor(recognizer: Recognizer, vad: VoiceActivityDetector) {
    this.#recognizer = recognizer;
    this.#vad = vad;
  }

  async caption(streams: MediaStreams, options: CaptionOptions): Promise<{ segments: number; processedSeconds: number }> {
    const manifest = this.#recognizer.bundle.manifest;
    const segmenter = new SpeechSegmenter(options.segmenter);
    const frameSeconds = vadFrameSamples / sampleRate;
    const padding = Math.round((options.paddingSeconds ?? 0.15) * sampleRate);
    const maxPhrase = (options.segmenter?.maxPhraseSeconds ?? 12) + 2;
    const history = new AudioHistory(Math.ceil((maxPhrase + 2) * sampleRate));
    const frames = new FrameCursor(options.useVideo ? streams.mouthFrames : undefined);
    const minFaceCoverage = options.minFaceCoverage ?? 0.8;
    let pending = new Float32Array(0);
    let chunkIndex = 0;
    let segments = 0;
    let busySeconds = 0;
    let mediaSecondsDone = 0;
    const origin = streams.startSeconds ?? 0;
    this.#vad.reset();

    const recognizeSpan = async (span: SpeechSpan) => {
      const startSeconds = origin + span.startFrame * frameSeconds;
      const endSeconds = origin + span.endFrame * frameSeconds;
      const pcm = history.slice(span.startFrame * vadFrameSamples - padding, span.endFrame * vadFrameSamples + padding);
      const paddedStart = Math.max(origin, startSeconds - padding / sampleRate);
      const paddedEnd = endSeconds + padding / sampleRate;
      let videoMissing: CaptionSegment['videoMissing'];
      let video: { pixels: Uint8Array; count: number } | undefined;
      if (options.useVideo) {
        if (!frames.hasVideo) videoMissing = 'no-video-track';
        else {
          const spanFrames = await frames.take(paddedStart, paddedEnd);
          const withFace = spanFrames.filter((frame) => frame.roi !== undefined);
          if (spanFrames.length === 0 || withFace.length / spanFrames.length < minFaceCoverage) videoMissing = 'no-face';
          else video = packFrames(spanFrames, manifest.roi.width * manifest.roi.height);
        }
      }
      const decision = options.chooseScale({
        chunkIndex,
        chunkSeconds: endSeconds - startSeconds,
        realTimeFactor: mediaSecondsDone > 0 ? busySeconds / mediaSecondsDone : undefined,
      });
      const recognition = await this.#recognizer.recognize(video ? { pcm, frames: video } : { pcm }, {
        scaleIndex: decision.scaleIndex,
        decoding: options.decoding,
      });
      chunkIndex += 1;
      if (recognition.text.length === 0) return;
      segments += 1;
      const segment: CaptionSegment = {
        startSeconds,
        endSeconds,
        text: recognition.text,
        scaleId: recognition.scaleId,
        modality: modalityOf[recognition.task],
        confidence: recognition.confidence,
        ...(videoMissing ? { videoMissing } : {}),
      };
      await options.onSegment(segment, decision);
    };

    const reportProgress = () => {
      options.onProgress?.({ processedSeconds: origin + history.endSample / sampleRate, durationSeconds: streams.durationSeconds, segments });
    };

    try {
      for await (const chunk of streams.audio) {
        options.signal?.throwIfAborted();
        const started = performance.now();
        const samples = pending.length === 0 ? chunk : concatSamples(pending, chunk);
        let offset = 0;
        for (; offset + vadFrameSamples <= samples.length; offset += vadFrameSamples) {
          const frame = samples.subarray(offset, offset + vadFrameSamples);
          history.append(frame);
          const probability = await this.#vad.score(frame);
          for (const event of segmenter.push(probability)) if (event.type === 'speech-end') await recognizeSpan(event.span);
        }
        pending = samples.slice(offset);
        busySeconds += (performance.now() - started) / 1000;
        mediaSecondsDone = history.endSample / sampleRate;
        reportProgress();
      }
      if (pending.length > 0) history.append(pending);
      for (const event of segmenter.flush()) if (event.type === 'speech-end') await recognizeSpan(event.span);
      reportProgress();
    } finally {
      await frames.close();
    }
    return { segments, processedSeconds: origin + history.endSample / sampleRate };
  }
}
