import * as ort from 'onnxruntime-node';
import type { LoadedBundle } from '../../electron/engine/bundle.js';
import { Recognizer } from '../../electron/engine/recognizer.js';
import { VoiceActivityDetector } from '../../electron/engine/voice-activity.js';
import { wordErrorRate } from '../../electron/engine/word-error-rate.js';
import { decodeLiveFrame } from '../../electron/ipc/contract.js';
import { LiveCaptioner } from '../../electron/live/live-captioner.js';
import { nodeMonitorSources, ResourceMonitor } from '../../electron/monitor/resource-monitor.js';
import { defaultPolicyOptions, ScalePolicy } from '../../electron/monitor/scale-policy.js';
import type { Timeline } from '../support/av-corpus.js';
import { feedTimeline } from '../support/live-feed.js';

/**
 * Live captions as a meeting would produce them: generated speech played in real time as
 * 100 ms capture frames (with the mouth crops at 25 fps when `withVideo`), through the live
 * captioner. Latency is measured from the true end of each spoken phrase (phone timings) to its
 * final caption; partial cadence is the time between successive updates while a phrase is spoken.
 */

export interface LiveLatencyRun {
  readonly label: string;
  readonly withVideo: boolean;
  readonly finals: number;
  readonly phrases: number;
  readonly latencyMs: readonly number[];
  readonly partialGapsMs: readonly number[];
  readonly wer: number;
  readonly scalesUsed: readonly string[];
}

export type ScaleMode = { readonly kind: 'fixed'; readonly scaleIndex: number } | { readonly kind: 'policy' };

export async function runLiveLatency(bundle: LoadedBundle, timeline: Timeline, mode: ScaleMode, withVideo: boolean): Promise<LiveLatencyRun> {
  const vad = await VoiceActivityDetector.create(ort);
  const monitor = new ResourceMonitor(nodeMonitorSources(process.platform), { intervalMs: 1000, gpuEvery: 5 });
  const policy = new ScalePolicy({ mode: 'balanced', ladderSize: bundle.manifest.scales.length, fixedScale: 0, ...defaultPolicyOptions });
  const finals: { phraseId: number; atMs: number; text: string; endSeconds: number; scaleId: string }[] = [];
  const partials: { phraseId: number; atMs: number }[] = [];
  const captioner: LiveCaptioner = new LiveCaptioner({
    recognizer: new Recognizer(ort, bundle),
    vad,
    useVideo: withVideo,
    chooseScale: ({ realTimeFactor }) => {
      if (mode.kind === 'fixed') return { scaleIndex: mode.scaleIndex, reason: 'fixed for the benchmark' };
      const backlogSeconds = captioner.statistics.backlogSeconds;
      monitor.reportEngine({ realTimeFactor, backlogSeconds });
      const base = monitor.latest;
      const decision = policy.decide({
        at: Date.now(),
        power: base?.power ?? { source: undefined, batteryPercent: undefined, batteryTrendPerHour: undefined },
        thermal: base?.thermal,
        gpu: base?.gpu ?? { utilization: undefined, memoryFraction: undefined, name: undefined },
        cpuLoad: base?.cpuLoad,
        engine: { realTimeFactor, backlogSeconds },
      });
      return { scaleIndex: decision.scaleIndex, reason: decision.reason };
    },
    onPartial: (phrase) => partials.push({ phraseId: phrase.phraseId, atMs: performance.now() }),
    onFinal: (phrase) => {
      finals.push({ phraseId: phrase.phraseId, atMs: performance.now(), text: phrase.text, endSeconds: phrase.endSeconds, scaleId: phrase.scaleId });
    },
    onError: (error) => process.stderr.write(`bench: a live chunk failed: ${String(error)}\n`),
  });
  monitor.start();
  let feed;
  try {
    feed = await feedTimeline(timeline, {
      sessionId: 1,
      roi: bundle.manifest.roi.width,
      realTime: true,
      withVideo,
      send: (data) => {
        const frame = decodeLiveFrame(data);
        if (!frame.ok) throw new Error(frame.error.message);
        if (frame.value.kind === 'audio') captioner.pushAudio(frame.value.startSample, frame.value.samples);
        else captioner.pushMouthFrame(frame.value.timeMs / 1000, frame.value.roi?.pixels);
      },
    });
    await captioner.stop();
  } finally {
    monitor.stop();
    await vad.release();
  }

  // Each true phrase is matched with the final whose end is nearest to it.
  const latencyMs: number[] = [];
  const pairs: { reference: string; hypothesis: string }[] = [];
  for (const truth of timeline.speech) {
    const match = finals.reduce<(typeof finals)[number] | undefined>(
      (best, final) => (Math.abs(final.endSeconds - truth.end) < 0.6 && (!best || Math.abs(final.endSeconds - truth.end) < Math.abs(best.endSeconds - truth.end)) ? final : best),
      undefined,
    );
    if (match) latencyMs.push(match.atMs - (feed.startedAtMs + truth.end * 1000));
    pairs.push({ reference: truth.transcript, hypothesis: match?.text ?? '' });
  }
  const partialGapsMs: number[] = [];
  for (const final of finals) {
    const updates = partials.filter((partial) => partial.phraseId === final.phraseId).map((partial) => partial.atMs);
    for (let index = 1; index < updates.length; index += 1) partialGapsMs.push(updates[index]! - updates[index - 1]!);
  }
  return {
    label: mode.kind === 'fixed' ? bundle.manifest.scales[mode.scaleIndex]!.id : 'Balanced policy',
    withVideo,
    finals: finals.length,
    phrases: timeline.speech.length,
    latencyMs,
    partialGapsMs,
    wer: wordErrorRate(pairs).rate,
    scalesUsed: [...new Set(finals.map((final) => final.scaleId))],
  };
}

const percentile = (values: readonly number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
};

export function liveLatencyReport(runs: readonly LiveLatencyRun[], durationSeconds: number): string[] {
  const lines = [
    `#### Live captions, paced at real time (${runs[0]?.phrases ?? 0} phrases of held-out speech, ${durationSeconds.toFixed(0)} s, 100 ms capture frames)`,
    '',
    'Latency: from the true end of each spoken phrase (phone timings) to its final caption; it includes the 0.3 s pause that ends a phrase. Partial cadence: time between successive partials of one phrase.',
    '',
    '| scale | modality | finals / phrases | latency p50 / p95 (ms) | partial cadence p50 / p95 / max (ms) | WER | scales used |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const run of runs) {
    lines.push(
      `| ${run.label} | ${run.withVideo ? 'audio-visual' : 'audio'} | ${run.finals} / ${run.phrases} | ${percentile(run.latencyMs, 0.5).toFixed(0)} / ${percentile(run.latencyMs, 0.95).toFixed(0)} | ` +
        `${percentile(run.partialGapsMs, 0.5).toFixed(0)} / ${percentile(run.partialGapsMs, 0.95).toFixed(0)} / ${Math.max(...run.partialGapsMs).toFixed(0)} | ${(run.wer * 100).toFixed(1)}% | ${run.scalesUsed.join(', ')} |`,
    );
  }
  const policyRun = runs.find((run) => run.label === 'Balanced policy');
  if (policyRun) {
    const p95 = percentile(policyRun.latencyMs, 0.95);
    const cadence = percentile(policyRun.partialGapsMs, 0.95);
    lines.push('', `Targets with the policy on: final latency p95 ≤ 800 ms: **${p95 <= 800 ? 'met' : 'missed'}** (${p95.toFixed(0)} ms); partials at least every 500 ms: **${cadence <= 500 ? 'met' : 'missed'}** (p95 ${cadence.toFixed(0)} ms).`);
  }
  return lines;
}
