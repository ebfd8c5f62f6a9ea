import { encodeLiveAudioFrame, encodeLiveVideoFrame } from '../../electron/ipc/contract.js';
import type { Timeline } from './av-corpus.js';

/**
 * A generated timeline played as a live source: 100 ms audio frames (what the capture worklet
 * sends) and 25 fps mouth crops, either paced at real time or as fast as the consumer takes them.
 */

export const liveFrameSamples = 1600;

export interface FeedOptions {
  readonly sessionId: number;
  readonly roi: number;
  /** Wall-clock pacing; false pushes everything at once. */
  readonly realTime: boolean;
  readonly withVideo: boolean;
  /** Called with each encoded frame, as a transport would deliver it. */
  readonly send: (frame: ArrayBuffer) => void;
  /** Samples skipped before this frame index (a device unplugged and back). */
  readonly gapBeforeFrame?: { readonly frame: number; readonly samples: number };
}

export interface FeedResult {
  /** performance.now() when the timeline's first sample was sent (its time 0). */
  readonly startedAtMs: number;
  readonly gapSamples: number;
}

export async function feedTimeline(timeline: Timeline, options: FeedOptions): Promise<FeedResult> {
  const startedAtMs = performance.now();
  let videoFrame = 0;
  let shift = 0;
  const frames = Math.ceil(timeline.pcm.length / liveFrameSamples);
  for (let index = 0; index < frames; index += 1) {
    if (options.gapBeforeFrame?.frame === index) shift += options.gapBeforeFrame.samples;
    const start = index * liveFrameSamples;
    const end = Math.min(timeline.pcm.length, start + liveFrameSamples);
    if (options.realTime) {
      const due = startedAtMs + (end / 16000) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    options.send(encodeLiveAudioFrame(options.sessionId, start + shift, timeline.pcm.subarray(start, end)));
    if (options.withVideo) {
      for (; videoFrame < timeline.frames.length && videoFrame * 640 < end; videoFrame += 1) {
        const pixels = timeline.frames[videoFrame]!;
        options.send(encodeLiveVideoFrame(options.sessionId, ((videoFrame * 640 + shift) / 16000) * 1000, { width: options.roi, height: options.roi, pixels }));
      }
    }
  }
  return { startedAtMs, gapSamples: shift };
}
