import * as ort from 'onnxruntime-node';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { Captioner } from '../../electron/batch/batch-queue.js';
import { engineCaptioner } from '../../electron/batch/engine-captioner.js';
import { mediaProber } from '../../electron/batch/media-prober.js';
import type { Prober } from '../../electron/batch/library-scan.js';
import { loadBundle } from '../../electron/engine/bundle.js';
import { Recognizer } from '../../electron/engine/recognizer.js';
import type { RunSettings } from '../../electron/store/runs.js';
import { testBundleDirectory } from '../support/bundle.js';
import { layOut, sampleRate, synthesizeSpeech } from '../support/speech.js';
import { ffmpeg, ffprobePath } from '../media/fixtures.js';

export const phrases = [
  'the budget review starts now',
  'we will discuss hiring for next quarter',
  'travel plans are on hold until spring',
  'the new office opens in march',
  'please send your slides before friday',
  'questions from the team come last',
  'the printer on the third floor is broken',
  'lunch will be served at noon',
  'our customers asked for a dark theme',
  'the release moves to the second week',
  'security training is due this month',
  'thank you all for coming today',
];

/**
 * A media file of real TTS speech: each phrase followed by silence long enough for the
 * voice-activity detector to close it, so every phrase becomes one segment.
 */
export function speechFile(path: string, texts: readonly string[], options: { video?: boolean; silenceSeconds?: number } = {}): string {
  const parts: (Float32Array | number)[] = [0.5];
  for (const text of texts) parts.push(synthesizeSpeech(text), options.silenceSeconds ?? 1.2);
  const { audio } = layOut(parts);
  const directory = mkdtempSync(join(tmpdir(), 'nestcap-speech-'));
  try {
    const raw = join(directory, 'speech.f32');
    writeFileSync(raw, new Uint8Array(audio.buffer, audio.byteOffset, audio.byteLength));
    const input = ['-f', 'f32le', '-ar', String(sampleRate), '-ac', '1', '-i', raw];
    const video = options.video ? ['-f', 'lavfi', '-i', `testsrc=size=160x120:rate=25:duration=${audio.length / sampleRate}`, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac'] : [];
    execFileSync(ffmpeg.path, ['-loglevel', 'error', '-nostdin', '-y', ...input, ...video, path]);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  return path;
}

export const prober: Prober = mediaProber(ffmpeg, ffprobePath);

export interface TestCaptioner {
  readonly captioner: Captioner;
  readonly run: RunSettings;
}

/** The real pipeline (captionFile over the test bundle on CPU, audio only), released after the test. */
export async function realCaptioner(t: TestContext | undefined): Promise<TestCaptioner & { readonly release: () => Promise<void> }> {
  const bundle = await loadBundle(ort, testBundleDirectory(), { device: 'cpu', autoCandidates: ['cpu'], intraOpThreads: 1 });
  const release = () => bundle.release();
  t?.after(release);
  const captioner = engineCaptioner({
    ort,
    recognizer: new Recognizer(ort, bundle),
    ffmpeg,
    ffprobePath,
    roiSize: bundle.manifest.roi.width,
    chooseScale: () => ({ scaleIndex: 0, reason: 'best quality: offline captioning' }),
    decoding: { kind: 'greedy' },
    useVideo: false,
  });
  return { captioner, run: { bundleId: bundle.manifest.id, device: bundle.provider.used, policy: { scale: 'best', decoding: 'greedy', video: 'off' } }, release };
}
