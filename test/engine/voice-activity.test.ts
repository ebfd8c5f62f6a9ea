import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { SpeechSegmenter, type SpeechSpan } from '../../electron/engine/speech-segmenter.js';
import { vadFrameSamples, VoiceActivityDetector } from '../../electron/engine/voice-activity.js';
import { layOut, sampleRate, synthesizeSpeech } from '../support/speech.js';

const frameSeconds = vadFrameSamples / sampleRate;

async function segment(audio: Float32Array): Promise<SpeechSpan[]> {
  const vad = await VoiceActivityDetector.create(ort);
  const segmenter = new SpeechSegmenter();
  const spans: SpeechSpan[] = [];
  for (let offset = 0; offset + vadFrameSamples <= audio.length; offset += vadFrameSamples) {
    const probability = await vad.score(audio.subarray(offset, offset + vadFrameSamples));
    for (const event of segmenter.push(probability)) if (event.type === 'speech-end') spans.push(event.span);
  }
  for (const event of segmenter.flush()) if (event.type === 'speech-end') spans.push(event.span);
  await vad.release();
  return spans;
}

test('Silero VAD finds each spoken phrase within 0.2 s of where the speech really is', async (t) => {
  const first = synthesizeSpeech('The quarterly numbers are ready for review.');
  const second = synthesizeSpeech('Please send the slides before noon tomorrow.', 'en-gb');
  const third = synthesizeSpeech('Thanks, everyone.', 'en-us', 140);
  const { audio, phrases } = layOut([1.2, first, 1.5, second, 2.0, third, 1.0], 0.003);

  const spans = await segment(audio);
  assert.equal(spans.length, phrases.length, `expected ${phrases.length} phrases, got ${JSON.stringify(spans)}`);
  spans.forEach((span, index) => {
    const truth = phrases[index]!;
    const start = span.startFrame * frameSeconds;
    const end = span.endFrame * frameSeconds;
    t.diagnostic(`phrase ${index}: start error ${(start - truth.start).toFixed(3)} s, end error ${(end - truth.end).toFixed(3)} s`);
    assert.ok(Math.abs(start - truth.start) <= 0.2, `phrase ${index} starts at ${start.toFixed(2)} s, speech at ${truth.start.toFixed(2)} s`);
    assert.ok(Math.abs(end - truth.end) <= 0.2, `phrase ${index} ends at ${end.toFixed(2)} s, speech at ${truth.end.toFixed(2)} s`);
  });
});

test('silence and steady noise produce no phrases', async () => {
  const { audio } = layOut([5], 0.02, 7);
  assert.deepEqual(await segment(audio), []);
});
