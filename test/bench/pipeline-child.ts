import * as ort from 'onnxruntime-node';
import { parseArgs } from 'node:util';
import { loadBundle } from '../../electron/engine/bundle.js';
import { CaptionEngine, fixedScale } from '../../electron/engine/caption-engine.js';
import { captionFile } from '../../electron/engine/caption-file.js';
import { defaultDecoding, Recognizer } from '../../electron/engine/recognizer.js';
import { VoiceActivityDetector } from '../../electron/engine/voice-activity.js';
import { bundledFfmpegPath, locateFfmpeg, locateFfprobe } from '../../electron/media/ffmpeg-locator.js';

/**
 * The whole file pipeline (ffmpeg decode → VAD → recognizer) in a process of its own, so its
 * peak RSS is the engine's and not the benchmark harness's. Prints one JSON line.
 */
const { values } = parseArgs({
  options: { media: { type: 'string' }, model: { type: 'string' }, scale: { type: 'string' }, threads: { type: 'string', default: '2' } },
});
const ffmpeg = locateFfmpeg({ env: process.env, platform: process.platform, bundledPath: bundledFfmpegPath() });
const bundle = await loadBundle(ort, values.model!, { device: 'cpu', autoCandidates: ['cpu'], intraOpThreads: Number(values.threads) });
const scaleIndex = bundle.manifest.scales.findIndex((scale) => scale.id === values.scale);
const engine = new CaptionEngine(new Recognizer(ort, bundle), await VoiceActivityDetector.create(ort));
const texts: string[] = [];
const started = performance.now();
const result = await captionFile(
  { ffmpeg, ffprobePath: locateFfprobe(ffmpeg, process.env, process.platform) ?? null, engine, roiSize: bundle.manifest.roi.width },
  values.media!,
  { chooseScale: fixedScale(scaleIndex), decoding: defaultDecoding(bundle.manifest), useVideo: false },
  (segment) => {
    texts.push(segment.text);
  },
);
const seconds = (performance.now() - started) / 1000;
process.stdout.write(
  `${JSON.stringify({
    text: texts.join(' '),
    segments: result.segments,
    mediaSeconds: result.processedSeconds,
    processingSeconds: seconds,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  })}\n`,
);
await bundle.release();
