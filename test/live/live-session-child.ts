import * as ort from 'onnxruntime-node';
import { join } from 'node:path';
import { loadBundle } from '../../electron/engine/bundle.js';
import { Recognizer } from '../../electron/engine/recognizer.js';
import { VoiceActivityDetector } from '../../electron/engine/voice-activity.js';
import type { LiveCaption } from '../../electron/ipc/contract.js';
import { LiveService } from '../../electron/live/live-service.js';
import { openDatabase } from '../../electron/store/database.js';
import { layOutTimeline, readCorpusSplit } from '../support/av-corpus.js';
import { testBundleDirectory } from '../support/bundle.js';
import { feedTimeline } from '../support/live-feed.js';

/**
 * A meeting that is killed: starts a live session in its own data folder, streams generated
 * speech into it, and after the second final has been stored prints its report and waits to
 * be killed with SIGKILL by the test (nothing is closed or flushed on the way out).
 */
const [dataDirectory, corpusDirectory] = process.argv.slice(2) as [string, string];
const bundle = await loadBundle(ort, testBundleDirectory(), { device: 'cpu', autoCandidates: ['cpu'] });
const database = openDatabase(join(dataDirectory, 'nestcap.sqlite'));
const finals: LiveCaption[] = [];
const service = new LiveService({
  database,
  recordingsDirectory: join(dataDirectory, 'recordings'),
  loadEngine: () => Promise.resolve({ recognizer: new Recognizer(ort, bundle), bundleId: bundle.manifest.id, device: 'cpu', createVad: () => VoiceActivityDetector.create(ort) }),
  currentScale: () => ({ scaleIndex: 0, reason: 'finest' }),
  policyDescription: () => ({ mode: 'fixed' }),
  reportEngine: () => undefined,
  emit: (event, payload) => {
    if (event !== 'live.caption' || (payload as LiveCaption).kind !== 'final') return;
    finals.push(payload as LiveCaption);
    if (finals.length === 2) {
      process.stdout.write(`${JSON.stringify({ sessionId: (payload as LiveCaption).sessionId, finals: finals.map((caption) => caption.text) })}\n`);
    }
  },
  logger: { warn() {}, error() {} },
});
const started = await service.start({ audioSource: 'microphone', deviceLabel: 'child mic', camera: false });
if (!started.ok) throw new Error(started.error.message);
const roi = bundle.manifest.roi.width;
const timeline = layOutTimeline(readCorpusSplit(corpusDirectory, 'eval_seen', roi).slice(0, 4), 1.0);
await feedTimeline(timeline, { sessionId: started.value.sessionId, roi, realTime: false, withVideo: false, send: (data) => void service.acceptFrame(data) });
// Keep the process alive (and the session open) until the test kills it.
setInterval(() => undefined, 1000);
