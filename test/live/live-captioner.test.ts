import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { loadBundle } from '../../electron/engine/bundle.js';
import { Recognizer } from '../../electron/engine/recognizer.js';
import { VoiceActivityDetector } from '../../electron/engine/voice-activity.js';
import { wordErrorRate } from '../../electron/engine/word-error-rate.js';
import { decodeLiveFrame, encodeLiveAudioFrame, encodeLiveVideoFrame, type EventChannels, type LiveCaption } from '../../electron/ipc/contract.js';
import { LiveCaptioner, liveSegmenterDefaults, type LivePhrase } from '../../electron/live/live-captioner.js';
import { CaptionEngine } from '../../electron/engine/caption-engine.js';
import { LiveService } from '../../electron/live/live-service.js';
import { openDatabase } from '../../electron/store/database.js';
import { getMedia } from '../../electron/store/library.js';
import { getRun, scaleDecisionsOf } from '../../electron/store/runs.js';
import { transcriptSegments } from '../../electron/store/segments.js';
import { engineTestUtterances, layOutTimeline } from '../support/av-corpus.js';
import { testBundleDirectory } from '../support/bundle.js';
import { feedTimeline, liveFrameSamples } from '../support/live-feed.js';

/**
 * Live captioning on generated speech whose phone timings are known, fed as the capture
 * worklet feeds it (100 ms frames of 16 kHz audio, 25 fps mouth crops).
 */

const bundle = await loadBundle(ort, testBundleDirectory(), { device: 'cpu', autoCandidates: ['cpu'] });
const roi = bundle.manifest.roi.width;
const utterances = engineTestUtterances(roi);
const recognizer = new Recognizer(ort, bundle);

test.after(() => bundle.release());

test('paced at real time: partials while someone speaks, one final per phrase, accurate times', async (t) => {
  const timeline = layOutTimeline(utterances.slice(0, 3), 1.2);
  const vad = await VoiceActivityDetector.create(ort);
  t.after(() => vad.release());
  const partials: { phrase: LivePhrase; atMs: number }[] = [];
  const finals: { phrase: LivePhrase; atMs: number }[] = [];
  const captioner = new LiveCaptioner({
    recognizer,
    vad,
    useVideo: true,
    chooseScale: () => ({ scaleIndex: 0, reason: 'test' }),
    onPartial: (phrase) => partials.push({ phrase, atMs: performance.now() }),
    onFinal: (phrase) => {
      finals.push({ phrase, atMs: performance.now() });
    },
    onError: (error) => assert.fail(String(error)),
  });
  const feed = await feedTimeline(timeline, {
    sessionId: 1,
    roi,
    realTime: true,
    withVideo: true,
    send: (data) => {
      const frame = decodeLiveFrame(data);
      assert.ok(frame.ok);
      if (frame.value.kind === 'audio') captioner.pushAudio(frame.value.startSample, frame.value.samples);
      else captioner.pushMouthFrame(frame.value.timeMs / 1000, frame.value.roi?.pixels);
    },
  });
  await captioner.stop();

  assert.equal(finals.length, timeline.speech.length, finals.map((entry) => entry.phrase.text).join(' | '));
  finals.forEach(({ phrase, atMs }, index) => {
    const truth = timeline.speech[index]!;
    assert.ok(Math.abs(phrase.startSeconds - truth.start) <= 0.2, `final ${index} starts ${phrase.startSeconds} vs ${truth.start}`);
    assert.ok(Math.abs(phrase.endSeconds - truth.end) <= 0.2, `final ${index} ends ${phrase.endSeconds} vs ${truth.end}`);
    assert.equal(phrase.modality, 'audio-visual');
    const fromSpeechEnd = atMs - (feed.startedAtMs + truth.end * 1000);
    t.diagnostic(`phrase ${index}: final ${fromSpeechEnd.toFixed(0)} ms after the speech ended (captioner says ${phrase.latencyMs?.toFixed(0)} ms)`);
    assert.ok(phrase.latencyMs !== undefined && phrase.latencyMs > 0);
  });

  // Partials: every phrase longer than a second gets some, and they cover the phrase at least
  // every 500 ms of speech (media time: wall-clock cadence depends on the machine's load and is
  // measured by `npm run bench`, not asserted here).
  timeline.speech.forEach((truth, index) => {
    const phraseId = finals[index]!.phrase.phraseId;
    const phrasePartials = partials.filter((entry) => entry.phrase.phraseId === phraseId);
    if (truth.end - truth.start < 1) return;
    assert.ok(phrasePartials.length >= 1, `phrase ${index} had no partial`);
    const covered = [finals[index]!.phrase.startSeconds, ...phrasePartials.map((entry) => entry.phrase.endSeconds)];
    const mediaGaps = covered.slice(1).map((at, gap) => at - covered[gap]!);
    const wallTimes = [...phrasePartials, finals[index]!].map((entry) => entry.atMs);
    const wallGaps = wallTimes.slice(1).map((at, gap) => at - wallTimes[gap]!);
    t.diagnostic(`phrase ${index}: ${phrasePartials.length} partials; longest speech between them ${Math.max(...mediaGaps.slice(1)).toFixed(2)} s; longest wall-clock gap ${Math.max(...wallGaps).toFixed(0)} ms`);
    // The first partial waits for a few VAD frames of speech; after that, one per 0.25 s of speech
    // (rounded up to whole 100 ms capture frames).
    assert.ok(Math.max(...mediaGaps.slice(1), 0) <= 0.5, `phrase ${index}: speech between partials ${mediaGaps.map((gap) => gap.toFixed(2)).join(', ')} s`);
  });

  // The live path must caption as well as the file engine does on the same audio, phrases and
  // scale (the model's own accuracy is EVAL.md's business): a broken live path reads far worse.
  const wer = wordErrorRate(finals.map(({ phrase }, index) => ({ reference: timeline.speech[index]!.transcript, hypothesis: phrase.text })));
  const offline: string[] = [];
  await new CaptionEngine(recognizer, vad).caption(
    { durationSeconds: timeline.durationSeconds, audio: (async function* () { yield timeline.pcm; })(), mouthFrames: (async function* () { for (const [index, roi] of timeline.frames.entries()) yield { timeSeconds: index / 25, roi }; })() },
    { chooseScale: () => ({ scaleIndex: 0, reason: 'test' }), decoding: { kind: 'greedy' }, useVideo: true, segmenter: liveSegmenterDefaults, onSegment: (segment) => void offline.push(segment.text) },
  );
  const offlineWer = wordErrorRate(offline.map((hypothesis, index) => ({ reference: timeline.speech[index]?.transcript ?? '', hypothesis })));
  t.diagnostic(`live WER ${(wer.rate * 100).toFixed(1)}%, file engine on the same audio ${(offlineWer.rate * 100).toFixed(1)}%`);
  assert.ok(wer.rate <= offlineWer.rate + 0.2, `live WER ${(wer.rate * 100).toFixed(1)}% vs the file engine's ${(offlineWer.rate * 100).toFixed(1)}%`);
});

test('the live service stores finals as they come, records the audio, and survives gaps and bad frames', async (t) => {
  const directory = mkdtempSync(join(tmpdir(), 'nestcap-live-'));
  const database = openDatabase(join(directory, 'nestcap.sqlite'));
  t.after(() => {
    database.close();
    rmSync(directory, { recursive: true, force: true });
  });
  const events: { event: keyof EventChannels; payload: unknown }[] = [];
  const reported: (number | undefined)[] = [];
  const service = new LiveService({
    database,
    recordingsDirectory: join(directory, 'recordings with spaces é'),
    loadEngine: () =>
      Promise.resolve({ recognizer, bundleId: bundle.manifest.id, device: bundle.provider.used, createVad: () => VoiceActivityDetector.create(ort) }),
    currentScale: () => ({ scaleIndex: 1, reason: 'test policy: one step down' }),
    policyDescription: () => ({ mode: 'balanced' }),
    reportEngine: (reading) => reported.push(reading.backlogSeconds),
    emit: (event, payload) => events.push({ event, payload }),
    logger: { warn() {}, error: (message) => assert.fail(message) },
    statusIntervalMs: 50,
  });

  const started = await service.start({ audioSource: 'microphone', deviceLabel: 'Test mic', camera: false });
  assert.ok(started.ok);
  const session = started.value;
  assert.deepEqual(session.roi, { width: roi, height: roi });
  assert.equal(service.current()?.sessionId, session.sessionId);
  const second = await service.start({ audioSource: 'microphone', deviceLabel: 'Test mic', camera: false });
  assert.ok(!second.ok && second.error.code === 'unavailable', 'one meeting at a time');

  await t.test('bad frames get specific errors and change nothing', () => {
    const audio = encodeLiveAudioFrame(session.sessionId, 0, new Float32Array(160));
    assert.equal(expectError(service.acceptFrame(audio.slice(0, 10))), 'invalid-request');
    const wrongSession = encodeLiveAudioFrame(session.sessionId + 1, 0, new Float32Array(160));
    assert.equal(expectError(service.acceptFrame(wrongSession)), 'not-found');
    const video = encodeLiveVideoFrame(session.sessionId, 0, { width: roi, height: roi, pixels: new Uint8Array(roi * roi) });
    assert.match(expectMessage(service.acceptFrame(video)), /without the camera/);
    const nan = encodeLiveAudioFrame(session.sessionId, 0, Float32Array.of(0, Number.NaN));
    assert.match(expectMessage(service.acceptFrame(nan)), /finite/);
    const huge = encodeLiveAudioFrame(session.sessionId, 0, new Float32Array(16001));
    assert.match(expectMessage(service.acceptFrame(huge)), /1 to 16000/);
  });

  const timeline = layOutTimeline(utterances.slice(3, 6), 1.0);
  // Two seconds with no audio after the first phrase: a microphone unplugged and plugged back.
  const gapFrame = Math.ceil(((timeline.speech[0]!.end + 0.6) * 16000) / liveFrameSamples);
  const gapSamples = 32000;
  await feedTimeline(timeline, {
    sessionId: session.sessionId,
    roi,
    realTime: false,
    withVideo: false,
    gapBeforeFrame: { frame: gapFrame, samples: gapSamples },
    send: (data) => assert.ok(service.acceptFrame(data).ok),
  });
  // An overlapping resend of the last frame (a transport retry) is dropped, not doubled.
  const lastStart = (Math.ceil(timeline.pcm.length / liveFrameSamples) - 1) * liveFrameSamples;
  assert.ok(service.acceptFrame(encodeLiveAudioFrame(session.sessionId, lastStart + gapSamples, timeline.pcm.subarray(lastStart))).ok);
  const summary = await service.stop(session.sessionId);
  assert.ok(summary.ok);
  assert.equal(service.current(), null);

  await t.test('every final is in the store, under a finished run, with its scale and why', () => {
    const finals = events.filter((entry) => entry.event === 'live.caption' && (entry.payload as LiveCaption).kind === 'final').map((entry) => entry.payload as LiveCaption);
    assert.equal(finals.length, timeline.speech.length, finals.map((caption) => caption.text).join(' | '));
    assert.equal(summary.value.finals, finals.length);
    const stored = transcriptSegments(database, session.mediaId);
    assert.deepEqual(stored.map((segment) => segment.text), finals.map((caption) => caption.text));
    const expectedStarts = timeline.speech.map((truth, index) => truth.start + (index > 0 ? gapSamples / 16000 : 0));
    stored.forEach((segment, index) => assert.ok(Math.abs(segment.startSeconds - expectedStarts[index]!) <= 0.2, `segment ${index} at ${segment.startSeconds} vs ${expectedStarts[index]}`));
    assert.ok(stored.every((segment) => segment.scaleId === session.scaleIds[1] && segment.modality === 'audio'));
    assert.equal(getRun(database, session.sessionId).state, 'finished');
    assert.deepEqual(scaleDecisionsOf(database, session.sessionId).map((decision) => decision.reason), ['test policy: one step down']);
  });

  await t.test('the recording holds the whole session, the gap as silence, readable by ffmpeg', () => {
    const media = getMedia(database, session.mediaId);
    assert.equal(media.path, session.recordingPath);
    const expectedSeconds = (timeline.pcm.length + gapSamples) / 16000;
    assert.ok(Math.abs((media.durationSeconds ?? 0) - expectedSeconds) < 0.01, `${media.durationSeconds} vs ${expectedSeconds}`);
    const probed = Number(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', session.recordingPath], { encoding: 'utf8' }));
    assert.ok(Math.abs(probed - expectedSeconds) < 0.01, `ffprobe says ${probed} s`);
    const statuses = events.filter((entry) => entry.event === 'live.status').map((entry) => entry.payload as EventChannels['live.status']);
    assert.equal(statuses.at(-1)?.state, 'stopped');
    assert.ok(Math.abs(statuses.at(-1)!.audioGapSeconds - gapSamples / 16000) < 1e-9);
    assert.ok(reported.length > 0, 'the engine reported its backlog to the monitor');
  });
});

function expectError(result: { ok: boolean; error?: { code: string } }): string {
  assert.equal(result.ok, false);
  return result.error!.code;
}

function expectMessage(result: { ok: boolean; error?: { message: string } }): string {
  assert.equal(result.ok, false);
  return result.error!.message;
}
