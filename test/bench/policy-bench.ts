import * as ort from 'onnxruntime-node';
import { spawn, type ChildProcess } from 'node:child_process';
import { loadBundle, type LoadedBundle } from '../../electron/engine/bundle.js';
import { CaptionEngine } from '../../electron/engine/caption-engine.js';
import { defaultDecoding, Recognizer } from '../../electron/engine/recognizer.js';
import { VoiceActivityDetector } from '../../electron/engine/voice-activity.js';
import { nodeMonitorSources, ResourceMonitor } from '../../electron/monitor/resource-monitor.js';
import { defaultPolicyOptions, ScalePolicy, type PolicyMode } from '../../electron/monitor/scale-policy.js';
import type { Timeline } from '../support/av-corpus.js';

/**
 * Live-paced captioning while a CPU hog starts and stops: audio arrives in real time, the engine
 * takes it as fast as it can, and what it has not taken yet is the backlog. Run once with the
 * policy and once at a fixed finest scale to show what the policy buys.
 */

export interface PolicyRunPoint {
  readonly atSeconds: number;
  readonly backlogSeconds: number;
  readonly scaleIndex: number;
  readonly hog: boolean;
}

export interface PolicyRun {
  readonly mode: PolicyMode;
  readonly points: PolicyRunPoint[];
  /** Seconds from the end of each phrase in the input to its caption. */
  readonly latencies: { atSeconds: number; latency: number; hog: boolean }[];
  readonly decisions: { atSeconds: number; scaleIndex: number; reason: string }[];
}

const hogSource = `
const end = Date.now() + Number(process.argv[1]);
let x = 0;
while (Date.now() < end) x += Math.sqrt(x + 1);
`;

function startHog(cores: number, seconds: number): ChildProcess[] {
  return Array.from({ length: cores }, () => spawn(process.execPath, ['-e', hogSource, String(seconds * 1000)], { stdio: 'ignore' }));
}

export async function runLivePolicy(
  bundle: LoadedBundle,
  timeline: Timeline,
  mode: PolicyMode,
  hogWindow: { start: number; end: number; cores: number },
): Promise<PolicyRun> {
  const engine = new CaptionEngine(new Recognizer(ort, bundle), await VoiceActivityDetector.create(ort));
  const monitor = new ResourceMonitor(nodeMonitorSources(process.platform), { intervalMs: 1000, gpuEvery: 5 });
  const policy = new ScalePolicy({ mode, ladderSize: bundle.manifest.scales.length, fixedScale: 0, ...defaultPolicyOptions });
  const chunkSamples = 1600; // 0.1 s, the size of a capture callback
  const started = performance.now() / 1000;
  const now = () => performance.now() / 1000 - started;
  let consumedSeconds = 0;
  let hog: ChildProcess[] = [];
  const hogActive = (at: number) => at >= hogWindow.start && at < hogWindow.end;
  const points: PolicyRunPoint[] = [];
  const latencies: PolicyRun['latencies'] = [];
  const decisions: PolicyRun['decisions'] = [];
  let scaleIndex = policy.scaleIndex;

  async function* pacedAudio() {
    for (let offset = 0; offset < timeline.pcm.length; offset += chunkSamples) {
      const arrival = (offset + chunkSamples) / 16000;
      const wait = arrival - now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait * 1000));
      if (hog.length === 0 && hogActive(now())) hog = startHog(hogWindow.cores, hogWindow.end - hogWindow.start);
      consumedSeconds = arrival;
      yield timeline.pcm.subarray(offset, offset + chunkSamples);
    }
  }

  const sampler = setInterval(() => {
    const at = now();
    points.push({ atSeconds: at, backlogSeconds: Math.max(0, at - consumedSeconds), scaleIndex, hog: hogActive(at) });
  }, 500);
  monitor.start();
  try {
    await engine.caption(
      { durationSeconds: timeline.durationSeconds, audio: pacedAudio() },
      {
        chooseScale: ({ realTimeFactor }) => {
          const at = now();
          monitor.reportEngine({ realTimeFactor, backlogSeconds: Math.max(0, at - consumedSeconds) });
          const base = monitor.latest;
          const decision = policy.decide({
            at: at * 1000,
            power: base?.power ?? { source: undefined, batteryPercent: undefined, batteryTrendPerHour: undefined },
            thermal: base?.thermal,
            gpu: base?.gpu ?? { utilization: undefined, memoryFraction: undefined, name: undefined },
            cpuLoad: base?.cpuLoad,
            engine: { realTimeFactor, backlogSeconds: Math.max(0, at - consumedSeconds) },
          });
          scaleIndex = decision.scaleIndex;
          if (decision.changed) decisions.push({ atSeconds: at, scaleIndex: decision.scaleIndex, reason: decision.reason });
          return { scaleIndex: decision.scaleIndex, reason: decision.reason };
        },
        decoding: defaultDecoding(bundle.manifest),
        useVideo: false,
        segmenter: { maxPhraseSeconds: 8 },
        onSegment: (segment) => {
          const at = now();
          latencies.push({ atSeconds: at, latency: at - segment.endSeconds, hog: hogActive(segment.endSeconds) });
        },
      },
    );
  } finally {
    clearInterval(sampler);
    monitor.stop();
    for (const child of hog) child.kill();
  }
  return { mode, points, latencies, decisions };
}

export async function loadForPolicyBench(model: string, threads: number): Promise<LoadedBundle> {
  return loadBundle(ort, model, { device: 'cpu', autoCandidates: ['cpu'], intraOpThreads: threads });
}
