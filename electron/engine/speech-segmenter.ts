/**
 * Turns per-frame speech probabilities into phrases, the unit the recognizer captions.
 *
 * Hysteresis (a higher threshold to start than to stay in speech) keeps breaths and short dips
 * from cutting a phrase; a hangover lets a phrase end only after a real pause; a maximum length
 * forces a cut at the quietest frame so live latency and decoder cost stay bounded.
 */

export interface SegmenterOptions {
  readonly frameSeconds: number;
  readonly onsetThreshold: number;
  readonly offsetThreshold: number;
  /** Shorter bursts (clicks, coughs) are dropped. */
  readonly minSpeechSeconds: number;
  /** Silence needed to end a phrase. */
  readonly hangoverSeconds: number;
  /** Longest phrase before a forced cut. */
  readonly maxPhraseSeconds: number;
}

export const defaultSegmenterOptions: SegmenterOptions = {
  frameSeconds: 512 / 16000,
  onsetThreshold: 0.5,
  offsetThreshold: 0.35,
  minSpeechSeconds: 0.2,
  hangoverSeconds: 0.45,
  maxPhraseSeconds: 12,
};

/** A phrase in frames: speech from `startFrame` up to, not including, `endFrame`. */
export interface SpeechSpan {
  readonly startFrame: number;
  readonly endFrame: number;
  /** True when the phrase was cut at the maximum length rather than ended by a pause. */
  readonly forced: boolean;
}

export type SegmenterEvent =
  | { readonly type: 'speech-start'; readonly startFrame: number }
  | { readonly type: 'speech-end'; readonly span: SpeechSpan };

export class SpeechSegmenter {
  readonly #options: SegmenterOptions;
  readonly #hangoverFrames: number;
  readonly #minSpeechFrames: number;
  readonly #maxPhraseFrames: number;
  #frame = 0;
  #startFrame: number | undefined;
  #lastSpeechFrame = 0;
  /** Probabilities since the phrase started, to find the quietest cut point. */
  #phraseProbabilities: number[] = [];

  constructor(options: Partial<SegmenterOptions> = {}) {
    this.#options = { ...defaultSegmenterOptions, ...options };
    const { frameSeconds, onsetThreshold, offsetThreshold } = this.#options;
    if (!(offsetThreshold <= onsetThreshold)) throw new RangeError('offsetThreshold must not exceed onsetThreshold');
    this.#hangoverFrames = Math.max(1, Math.round(this.#options.hangoverSeconds / frameSeconds));
    this.#minSpeechFrames = Math.max(1, Math.round(this.#options.minSpeechSeconds / frameSeconds));
    this.#maxPhraseFrames = Math.max(this.#hangoverFrames + 1, Math.round(this.#options.maxPhraseSeconds / frameSeconds));
  }

  get inSpeech(): boolean {
    return this.#startFrame !== undefined;
  }

  /** First frame of the phrase in progress, if one is. */
  get openStartFrame(): number | undefined {
    return this.#startFrame;
  }

  /** Index of the next frame to be pushed. */
  get frameCount(): number {
    return this.#frame;
  }

  push(probability: number): SegmenterEvent[] {
    const frame = this.#frame++;
    const events: SegmenterEvent[] = [];
    if (this.#startFrame === undefined) {
      if (probability >= this.#options.onsetThreshold) {
        this.#startFrame = frame;
        this.#lastSpeechFrame = frame;
        this.#phraseProbabilities = [probability];
        events.push({ type: 'speech-start', startFrame: frame });
      }
      return events;
    }
    this.#phraseProbabilities.push(probability);
    if (probability >= this.#options.offsetThreshold) this.#lastSpeechFrame = frame;
    if (frame - this.#lastSpeechFrame >= this.#hangoverFrames) {
      this.#close(this.#lastSpeechFrame + 1, false, events);
    } else if (frame + 1 - this.#startFrame >= this.#maxPhraseFrames) {
      this.#forceCut(events);
    }
    return events;
  }

  /** Ends an open phrase at the end of input. */
  flush(): SegmenterEvent[] {
    const events: SegmenterEvent[] = [];
    if (this.#startFrame !== undefined) this.#close(this.#lastSpeechFrame + 1, false, events);
    return events;
  }

  #close(endFrame: number, forced: boolean, events: SegmenterEvent[]): void {
    const startFrame = this.#startFrame!;
    this.#startFrame = undefined;
    this.#phraseProbabilities = [];
    if (endFrame - startFrame >= this.#minSpeechFrames) events.push({ type: 'speech-end', span: { startFrame, endFrame, forced } });
  }

  /** Cuts at the quietest frame of the phrase's second half; the rest starts the next phrase. */
  #forceCut(events: SegmenterEvent[]): void {
    const startFrame = this.#startFrame!;
    const probabilities = this.#phraseProbabilities;
    let cut = probabilities.length - 1;
    for (let index = probabilities.length - 1; index >= Math.floor(probabilities.length / 2); index -= 1) {
      if (probabilities[index]! < probabilities[cut]!) cut = index;
    }
    const cutFrame = startFrame + cut;
    const carried = probabilities.slice(cut);
    events.push({ type: 'speech-end', span: { startFrame, endFrame: cutFrame, forced: true } });
    this.#startFrame = cutFrame;
    this.#lastSpeechFrame = Math.max(this.#lastSpeechFrame, cutFrame);
    this.#phraseProbabilities = carried;
    events.push({ type: 'speech-start', startFrame: cutFrame });
  }
}
