import type { Task } from '../engine/bundle-manifest.js';
import type { CaptionSegment, Modality, MouthFrame, ScaleContext, ScaleDecision } from '../engine/caption-engine.js';
import { AudioHistory, concatSamples, packFrames } from '../engine/chunk-media.js';
import { defaultDecoding, type Decoding, type Recognizer } from '../engine/recognizer.js';
import { SpeechSegmenter, type SegmenterOptions, type SpeechSpan } from '../engine/speech-segmenter.js';
import { vadFrameSamples, type VoiceActivityDetector } from '../engine/voice-activity.js';

/**
 * Captions a live stream as it arrives: voice-activity endpointing, a partial caption of the
 * phrase being spoken every `partialIntervalSeconds`, and a final caption when the phrase ends.
 * Media is pushed from the transport as it comes; one worker works through it in order, so the
 * backlog (captured but not yet processed audio) is what the scale policy watches.
 */

const sampleRate = 16000;
/** The camera is sampled onto this grid, the rate the video encoder was trained at. */
const videoFps = 25;

export interface LivePhrase extends CaptionSegment {
  readonly phraseId: number;
  readonly kind: 'partial' | 'final';
  /** Finals: from the moment the phrase's last speech sample arrived to this caption. */
  readonly latencyMs?: number;
}

export interface LiveCaptionerOptions {
  readonly recognizer: Recognizer;
  readonly vad: VoiceActivityDetector;
  readonly chooseScale: (context: ScaleContext) => ScaleDecision;
  /** Undefined: the bundle's default decoding. */
  readonly decoding?: Decoding;
  /**
   * Undefined: under rescoring, the CTC search without the LM (a partial is replaced by the final
   * within a second, so it gets the cheap half, and the final does not wait behind it); otherwise as `decoding`.
   */
  readonly partialDecoding?: Decoding;
  /** Mouth frames are being streamed; phrases without enough face run audio-only and say so. */
  readonly useVideo: boolean;
  readonly segmenter?: Partial<SegmenterOptions>;
  /**
   * Speech between partials. The default, 0.25 s, is three 100 ms capture frames every time;
   * 0.3 s would be three or four depending on where VAD frames fall, a 400 ms step that left
   * little room under the 500 ms cadence once decoding time varies.
   */
  readonly partialIntervalSeconds?: number;
  /** Partials are skipped while the backlog exceeds this, so they never delay a final. */
  readonly maxBacklogForPartialsSeconds?: number;
  readonly paddingSeconds?: number;
  readonly minFaceCoverage?: number;
  /** Milliseconds on a monotonic clock. */
  readonly now?: () => number;
  readonly onPartial: (phrase: LivePhrase, decision: ScaleDecision) => void;
  readonly onFinal: (phrase: LivePhrase, decision: ScaleDecision) => void | Promise<void>;
  /** A chunk that failed to caption; the stream goes on with the next one. */
  readonly onError: (error: unknown) => void;
}

/**
 * Live defaults: a shorter pause ends a phrase than in files (captions should not wait), and
 * phrases are cut sooner so that a long monologue still gets finals.
 */
export const liveSegmenterDefaults: Partial<SegmenterOptions> = { hangoverSeconds: 0.3, maxPhraseSeconds: 8 };

type QueueItem = { readonly kind: 'audio'; readonly samples: Float32Array } | { readonly kind: 'gap'; readonly toSample: number };

const modalityOf: Readonly<Record<Task, Modality>> = { asr: 'audio', vsr: 'video', avsr: 'audio-visual' };

export interface LiveStatistics {
  readonly capturedSeconds: number;
  readonly processedSeconds: number;
  readonly backlogSeconds: number;
  readonly gapSeconds: number;
  readonly realTimeFactor: number | undefined;
  readonly inSpeech: boolean;
  readonly finals: number;
}

export class LiveCaptioner {
  readonly #options: LiveCaptionerOptions;
  readonly #now: () => number;
  readonly #padding: number;
  readonly #partialIntervalSamples: number;
  readonly #history: AudioHistory;
  readonly #queue: QueueItem[] = [];
  /** When each pushed frame's last sample arrived, for latency; only recent ones are kept. */
  #receipts: { endSample: number; atMs: number }[] = [];
  #mouthFrames: MouthFrame[] = [];
  #segmenter: SpeechSegmenter;
  /** Absolute sample where the current segmenter's frame 0 starts (moves on after a gap). */
  #segmenterBase = 0;
  #pending = new Float32Array(0);
  #capturedEnd = 0;
  #gapSamples = 0;
  #phraseId = 0;
  #lastPartialSample = 0;
  #busyMs = 0;
  #finals = 0;
  #worker: Promise<void> | undefined;
  #stopped = false;
  readonly #segmenterOptions: Partial<SegmenterOptions>;

  constructor(options: LiveCaptionerOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#padding = Math.round((options.paddingSeconds ?? 0.15) * sampleRate);
    this.#partialIntervalSamples = Math.round((options.partialIntervalSeconds ?? 0.25) * sampleRate);
    this.#segmenterOptions = { ...liveSegmenterDefaults, ...options.segmenter };
    this.#segmenter = new SpeechSegmenter(this.#segmenterOptions);
    this.#history = new AudioHistory(Math.ceil(((this.#segmenterOptions.maxPhraseSeconds ?? 8) + 4) * sampleRate));
    options.vad.reset();
  }

  get statistics(): LiveStatistics {
    const processed = this.#processedEnd();
    return {
      capturedSeconds: this.#capturedEnd / sampleRate,
      processedSeconds: processed / sampleRate,
      backlogSeconds: Math.max(0, this.#capturedEnd - processed) / sampleRate,
      gapSeconds: this.#gapSamples / sampleRate,
      realTimeFactor: processed > 0 ? this.#busyMs / 1000 / (processed / sampleRate) : undefined,
      inSpeech: this.#segmenter.inSpeech,
      finals: this.#finals,
    };
  }

  /**
   * Audio starting at `startSample` of the session. A start past the end of what came before is
   * a gap (device unplugged or switched): the open phrase ends there and the gap is silence. A
   * start before it overlaps, and the overlap is dropped.
   */
  pushAudio(startSample: number, samples: Float32Array, receivedAtMs = this.#now()): void {
    if (this.#stopped) throw new Error('the live captioner has been stopped');
    let start = startSample;
    let chunk = samples;
    if (start < this.#capturedEnd) {
      chunk = chunk.subarray(Math.min(chunk.length, this.#capturedEnd - start));
      start = this.#capturedEnd;
    }
    if (chunk.length === 0) return;
    if (start > this.#capturedEnd) {
      this.#gapSamples += start - this.#capturedEnd;
      this.#queue.push({ kind: 'gap', toSample: start });
    }
    this.#queue.push({ kind: 'audio', samples: chunk });
    this.#capturedEnd = start + chunk.length;
    this.#receipts.push({ endSample: this.#capturedEnd, atMs: receivedAtMs });
    if (this.#receipts.length > 600) this.#receipts = this.#receipts.slice(-300);
    this.#kick();
  }

  /** One camera frame's mouth crop at the bundle's ROI size, or undefined when no face was found. */
  pushMouthFrame(timeSeconds: number, roi: Uint8Array | undefined): void {
    if (this.#stopped) return;
    this.#mouthFrames.push({ timeSeconds, roi });
    // Keep what the open phrase (at most maxPhraseSeconds, plus padding) can still need.
    const keepFrom = this.#processedEnd() / sampleRate - 12;
    if (this.#mouthFrames.length > 50 && this.#mouthFrames[0]!.timeSeconds < keepFrom) {
      this.#mouthFrames = this.#mouthFrames.filter((frame) => frame.timeSeconds >= keepFrom);
    }
  }

  /** Processes everything pushed so far, ends the open phrase, and takes no more media. */
  async stop(): Promise<LiveStatistics> {
    this.#stopped = true;
    await this.#drain();
    if (this.#pending.length > 0) {
      this.#history.append(this.#pending);
      this.#pending = new Float32Array(0);
    }
    for (const event of this.#segmenter.flush()) if (event.type === 'speech-end') await this.#final(event.span);
    return this.statistics;
  }

  #processedEnd(): number {
    return this.#segmenterBase + this.#segmenter.frameCount * vadFrameSamples;
  }

  #kick(): void {
    this.#worker ??= this.#work().finally(() => {
      this.#worker = undefined;
      if (this.#queue.length > 0) this.#kick();
    });
  }

  async #drain(): Promise<void> {
    while (this.#worker) await this.#worker;
  }

  async #work(): Promise<void> {
    for (let item = this.#queue.shift(); item !== undefined; item = this.#queue.shift()) {
      const started = this.#now();
      try {
        if (item.kind === 'gap') await this.#gap(item.toSample);
        else await this.#audio(item.samples);
      } catch (error) {
        this.#options.onError(error);
      }
      this.#busyMs += this.#now() - started;
    }
  }

  async #gap(toSample: number): Promise<void> {
    for (const event of this.#segmenter.flush()) if (event.type === 'speech-end') await this.#final(event.span);
    this.#pending = new Float32Array(0);
    this.#history.skipTo(toSample);
    this.#segmenter = new SpeechSegmenter(this.#segmenterOptions);
    this.#segmenterBase = toSample;
    this.#options.vad.reset();
  }

  async #audio(chunk: Float32Array): Promise<void> {
    const samples = this.#pending.length === 0 ? chunk : concatSamples(this.#pending, chunk);
    let offset = 0;
    for (; offset + vadFrameSamples <= samples.length; offset += vadFrameSamples) {
      const frame = samples.subarray(offset, offset + vadFrameSamples);
      this.#history.append(frame);
      const probability = await this.#options.vad.score(frame);
      for (const event of this.#segmenter.push(probability)) {
        if (event.type === 'speech-start') {
          this.#phraseId += 1;
          this.#lastPartialSample = this.#sampleOf(event.startFrame);
        } else {
          await this.#final(event.span);
        }
      }
    }
    this.#pending = samples.slice(offset);
    await this.#maybePartial();
  }

  #sampleOf(frame: number): number {
    return this.#segmenterBase + frame * vadFrameSamples;
  }

  async #maybePartial(): Promise<void> {
    if (!this.#segmenter.inSpeech) return;
    const processed = this.#processedEnd();
    const backlog = (this.#capturedEnd - processed) / sampleRate;
    if (processed - this.#lastPartialSample < this.#partialIntervalSamples) return;
    if (backlog > (this.#options.maxBacklogForPartialsSeconds ?? 0.5)) return;
    this.#lastPartialSample = processed;
    const openStart = this.#openPhraseStart();
    if (openStart === undefined || processed - openStart < vadFrameSamples * 4) return;
    const result = await this.#recognize(openStart, processed, processed, 'partial');
    if (result) this.#options.onPartial({ ...result.segment, phraseId: this.#phraseId, kind: 'partial' }, result.decision);
  }

  /** The open phrase's first sample: the latest speech start the segmenter reported. */
  #openPhraseStart(): number | undefined {
    return this.#segmenter.openStartFrame === undefined ? undefined : this.#sampleOf(this.#segmenter.openStartFrame);
  }

  async #final(span: SpeechSpan): Promise<void> {
    const start = this.#sampleOf(span.startFrame);
    const end = this.#sampleOf(span.endFrame);
    const result = await this.#recognize(start, end, end + this.#padding, 'final');
    if (!result) return;
    this.#finals += 1;
    const latencyMs = this.#now() - this.#arrivalOf(end);
    await this.#options.onFinal({ ...result.segment, phraseId: this.#phraseId, kind: 'final', latencyMs }, result.decision);
  }

  /** When sample `sample` arrived, from the receipt of the frame that carried it. */
  #arrivalOf(sample: number): number {
    const receipt = this.#receipts.find((entry) => entry.endSample >= sample) ?? this.#receipts.at(-1);
    if (!receipt) return this.#now();
    return receipt.atMs - ((receipt.endSample - sample) / sampleRate) * 1000;
  }

  #decoding(kind: 'partial' | 'final'): Decoding {
    const final = this.#options.decoding ?? defaultDecoding(this.#options.recognizer.bundle.manifest);
    if (kind === 'final') return final;
    if (this.#options.partialDecoding) return this.#options.partialDecoding;
    if (final.kind !== 'rescore') return final;
    // a partial is the final's search without the LM, as wide (at each scale)
    const { searchBeams, beams, ...rest } = final;
    return { ...rest, kind: 'ctc-search', beams: searchBeams ?? beams };
  }

  async #recognize(startSample: number, endSample: number, audioEnd: number, kind: 'partial' | 'final') {
    const { recognizer, useVideo } = this.#options;
    const manifest = recognizer.bundle.manifest;
    const pcm = this.#history.slice(startSample - this.#padding, audioEnd);
    const startSeconds = startSample / sampleRate;
    const endSeconds = endSample / sampleRate;
    let videoMissing: CaptionSegment['videoMissing'];
    let video: { pixels: Uint8Array; count: number } | undefined;
    if (useVideo) {
      const grid = this.#videoGrid(startSeconds - this.#padding / sampleRate, audioEnd / sampleRate);
      const withFace = grid.filter((frame) => frame.roi !== undefined).length;
      if (grid.length === 0 || withFace / grid.length < (this.#options.minFaceCoverage ?? 0.8)) videoMissing = 'no-face';
      else video = packFrames(grid, manifest.roi.width * manifest.roi.height);
    }
    const statistics = this.statistics;
    const decision = this.#options.chooseScale({
      chunkIndex: this.#phraseId,
      chunkSeconds: endSeconds - startSeconds,
      realTimeFactor: statistics.realTimeFactor,
    });
    const recognition = await recognizer.recognize(video ? { pcm, frames: video } : { pcm }, {
      scaleIndex: decision.scaleIndex,
      decoding: this.#decoding(kind),
    });
    if (recognition.text.trim().length === 0) return undefined;
    const segment: CaptionSegment = {
      startSeconds,
      endSeconds,
      text: recognition.text.trim(),
      scaleId: recognition.scaleId,
      modality: modalityOf[recognition.task],
      confidence: recognition.confidence,
      ...(videoMissing ? { videoMissing } : {}),
    };
    return { segment, decision };
  }

  /**
   * The camera's frames resampled onto a steady 25 fps grid (nearest frame within half a
   * frame), because browser timers deliver frames unevenly and sometimes drop some.
   */
  #videoGrid(fromSeconds: number, toSeconds: number): MouthFrame[] {
    const frames = this.#mouthFrames;
    const out: MouthFrame[] = [];
    let cursor = 0;
    for (let time = Math.max(0, fromSeconds); time < toSeconds; time += 1 / videoFps) {
      while (cursor + 1 < frames.length && Math.abs(frames[cursor + 1]!.timeSeconds - time) <= Math.abs(frames[cursor]!.timeSeconds - time)) cursor += 1;
      const nearest = frames[cursor];
      // A browser tab in the background or a busy machine delivers frames late: up to three
      // frame times away still counts; beyond that the frame is missing.
      out.push({ timeSeconds: time, roi: nearest && Math.abs(nearest.timeSeconds - time) <= 3 / videoFps ? nearest.roi : undefined });
    }
    return out;
  }
}
