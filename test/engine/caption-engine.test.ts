import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { loadBundle } from '../../electron/engine/bundle.js';
import { CaptionEngine, type CaptionSegment, type MouthFrame, type ScaleDecision } from '../../electron/engine/caption-engine.js';
import { defaultDecoding, Recognizer } from '../../electron/engine/recognizer.js';
import { VoiceActivityDetector } from '../../electron/engine/voice-activity.js';
import { wordErrorRate } from '../../electron/engine/word-error-rate.js';
import { engineTestUtterances, layOutTimeline, type Timeline } from '../support/av-corpus.js';
import { finestScaleWerLimit, testBundleDirectory } from '../support/bundle.js';

/**
 * The engine on generated speech whose phone timings are known: segment times, WER, the
 * modality recorded per segment, and per-chunk scale switching on one set of sessions.
 */

async function* audioStream(timeline: Timeline, chunkSamples = 8000) {
  for (let offset = 0; offset < timeline.pcm.length; offset += chunkSamples) yield timeline.pcm.subarray(offset, offset + chunkSamples);
}

async function* frameStream(timeline: Timeline, withFace: (time: number) => boolean): AsyncGenerator<MouthFrame> {
  for (const [index, roi] of timeline.frames.entries()) {
    const timeSeconds = index / 25;
    yield { timeSeconds, roi: withFace(timeSeconds) ? roi : undefined };
  }
}

test('the engine captions generated audio-visual speech with accurate times', async (t) => {
  const bundle = await loadBundle(ort, testBundleDirectory(), { device: 'cpu', autoCandidates: ['cpu'] });
  t.after(() => bundle.release());
  const roi = bundle.manifest.roi.width;
  const utterances = engineTestUtterances(roi);
  const timeline = layOutTimeline(utterances, 1.2);
  const vad = await VoiceActivityDetector.create(ort);
  t.after(() => vad.release());
  const engine = new CaptionEngine(new Recognizer(ort, bundle), vad);
  const finest = 0;
  const coarsest = bundle.manifest.scales.length - 1;

  const run = async (options: { useVideo: boolean; face: (time: number) => boolean; choose: (chunk: number) => number }) => {
    const segments: { segment: CaptionSegment; decision: ScaleDecision }[] = [];
    await engine.caption(
      { durationSeconds: timeline.durationSeconds, audio: audioStream(timeline), mouthFrames: frameStream(timeline, options.face) },
      {
        chooseScale: ({ chunkIndex }) => ({ scaleIndex: options.choose(chunkIndex), reason: 'test schedule' }),
        // as the bundle's evaluation decoded, so that its measured WER is a fair bar
        decoding: defaultDecoding(bundle.manifest),
        useVideo: options.useVideo,
        onSegment: (segment, decision) => {
          segments.push({ segment, decision });
        },
      },
    );
    return segments;
  };

  await t.test('one segment per phrase, each within 0.2 s of the phone timings', async () => {
    const segments = await run({ useVideo: false, face: () => true, choose: () => finest });
    assert.equal(segments.length, timeline.speech.length, JSON.stringify(segments.map((s) => s.segment.text)));
    segments.forEach(({ segment }, index) => {
      const truth = timeline.speech[index]!;
      t.diagnostic(`phrase ${index}: start ${(segment.startSeconds - truth.start).toFixed(3)} s, end ${(segment.endSeconds - truth.end).toFixed(3)} s off`);
      assert.ok(Math.abs(segment.startSeconds - truth.start) <= 0.2, `phrase ${index} starts ${segment.startSeconds} vs ${truth.start}`);
      assert.ok(Math.abs(segment.endSeconds - truth.end) <= 0.2, `phrase ${index} ends ${segment.endSeconds} vs ${truth.end}`);
      assert.equal(segment.modality, 'audio');
    });
    const wer = wordErrorRate(segments.map(({ segment }, index) => ({ reference: timeline.speech[index]!.transcript, hypothesis: segment.text })));
    const { limit, measured } = finestScaleWerLimit(testBundleDirectory());
    t.diagnostic(`audio-only WER at the finest scale: ${(wer.rate * 100).toFixed(1)}% (evaluation measured ${measured === undefined ? 'n/a' : (measured * 100).toFixed(1)}%)`);
    assert.ok(wer.rate <= limit, `WER ${(wer.rate * 100).toFixed(1)}% exceeds ${(limit * 100).toFixed(1)}%`);
  });

  await t.test('with a face the segments are audio-visual; where the face is lost they fall back and say why', async () => {
    const lostAfter = timeline.speech[Math.floor(timeline.speech.length / 2)]!.start - 0.5;
    const segments = await run({ useVideo: true, face: (time) => time < lostAfter, choose: () => finest });
    const before = segments.filter(({ segment }) => segment.endSeconds < lostAfter);
    const after = segments.filter(({ segment }) => segment.startSeconds > lostAfter);
    assert.ok(before.length > 0 && after.length > 0);
    for (const { segment } of before) assert.equal(segment.modality, 'audio-visual');
    for (const { segment } of after) {
      assert.equal(segment.modality, 'audio');
      assert.equal(segment.videoMissing, 'no-face');
    }
  });

  await t.test('the scale can change chunk by chunk on the same loaded sessions', async () => {
    const sessionsBefore = bundle.sessions.decoder;
    const segments = await run({ useVideo: true, face: () => true, choose: (chunk) => (chunk % 2 === 0 ? finest : coarsest) });
    for (const { segment, decision } of segments) assert.equal(segment.scaleId, bundle.manifest.scales[decision.scaleIndex]!.id);
    const used = new Set(segments.map(({ segment }) => segment.scaleId));
    assert.ok(used.has(bundle.manifest.scales[finest]!.id) && used.has(bundle.manifest.scales[coarsest]!.id), [...used].join(', '));
    assert.equal(bundle.sessions.decoder, sessionsBefore, 'no session was reloaded');
    const wer = wordErrorRate(segments.map(({ segment }, index) => ({ reference: timeline.speech[index]!.transcript, hypothesis: segment.text })));
    t.diagnostic(`audio-visual WER alternating finest/coarsest: ${(wer.rate * 100).toFixed(1)}%`);
  });
});
