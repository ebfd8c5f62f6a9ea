import type { LiveCaption, LiveStatus, NestcapApi } from '../../../electron/ipc/contract.js';

/**
 * The captions of the session in progress as the UI shows them: finished phrases in order and
 * the phrase being spoken. Shared by the live view and the overlay window, which follow the
 * same events.
 */
export class LiveCaptionFeed {
  finals = $state<LiveCaption[]>([]);
  partial = $state<LiveCaption | undefined>();
  status = $state<LiveStatus | undefined>();
  sessionId = $state<number | undefined>();
  /** Newest partial arrival times, for the cadence readout. */
  #partialTimes: number[] = [];
  partialCadenceMs = $state<number | undefined>();

  constructor(private readonly keep = 500) {}

  follow(api: NestcapApi): () => void {
    const stopCaptions = api.subscribe('live.caption', (caption) => this.#onCaption(caption));
    const stopStatus = api.subscribe('live.status', (status) => {
      if (this.sessionId === undefined || status.sessionId === this.sessionId) this.status = status;
    });
    return () => {
      stopCaptions();
      stopStatus();
    };
  }

  begin(sessionId: number): void {
    this.sessionId = sessionId;
    this.finals = [];
    this.partial = undefined;
    this.status = undefined;
    this.#partialTimes = [];
    this.partialCadenceMs = undefined;
  }

  #onCaption(caption: LiveCaption): void {
    if (this.sessionId === undefined) this.sessionId = caption.sessionId;
    if (caption.sessionId !== this.sessionId) return;
    if (caption.kind === 'final') {
      this.finals = [...this.finals, caption].slice(-this.keep);
      if (this.partial?.phraseId === caption.phraseId) this.partial = undefined;
      this.#partialTimes = [];
      return;
    }
    this.partial = caption;
    const now = performance.now();
    this.#partialTimes = [...this.#partialTimes, now].slice(-6);
    if (this.#partialTimes.length >= 2) {
      const times = this.#partialTimes;
      this.partialCadenceMs = (times.at(-1)! - times[0]!) / (times.length - 1);
    }
  }
}
