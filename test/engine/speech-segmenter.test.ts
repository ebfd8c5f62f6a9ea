import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SpeechSegmenter, type SegmenterEvent } from '../../electron/engine/speech-segmenter.js';

const options = { frameSeconds: 0.1, onsetThreshold: 0.5, offsetThreshold: 0.3, minSpeechSeconds: 0.3, hangoverSeconds: 0.5, maxPhraseSeconds: 3 };

function run(probabilities: number[], segmenter = new SpeechSegmenter(options)): SegmenterEvent[] {
  return [...probabilities.flatMap((p) => segmenter.push(p)), ...segmenter.flush()];
}

const ends = (events: SegmenterEvent[]) => events.flatMap((event) => (event.type === 'speech-end' ? [event.span] : []));

test('a dip shorter than the hangover does not split a phrase; a longer pause does', () => {
  const dip = [0, 0.9, 0.9, 0.9, 0.1, 0.1, 0.9, 0.9, 0, 0, 0, 0, 0, 0];
  assert.deepEqual(ends(run(dip)), [{ startFrame: 1, endFrame: 8, forced: false }]);
  const pause = [0.9, 0.9, 0.9, 0, 0, 0, 0, 0, 0.9, 0.9, 0.9, 0.9];
  assert.deepEqual(ends(run(pause)), [
    { startFrame: 0, endFrame: 3, forced: false },
    { startFrame: 8, endFrame: 12, forced: false },
  ]);
});

test('hysteresis: values between the thresholds keep speech going but do not start it', () => {
  assert.deepEqual(ends(run([0.4, 0.4, 0.4, 0.4])), []);
  assert.deepEqual(ends(run([0.6, 0.4, 0.4, 0.4, 0, 0, 0, 0, 0, 0])), [{ startFrame: 0, endFrame: 4, forced: false }]);
});

test('bursts shorter than the minimum are dropped', () => {
  assert.deepEqual(ends(run([0.9, 0.9, 0, 0, 0, 0, 0, 0])), []);
});

test('a phrase longer than the maximum is cut at its quietest frame and continues', () => {
  const long = Array.from({ length: 45 }, (_, index) => (index === 22 ? 0.31 : 0.9));
  const spans = ends(run(long));
  assert.deepEqual(spans[0], { startFrame: 0, endFrame: 22, forced: true });
  assert.equal(spans[1]?.startFrame, 22);
  assert.ok(spans.every((span) => span.endFrame - span.startFrame <= 30), JSON.stringify(spans));
  assert.equal(spans.at(-1)?.endFrame, 45);
});

test('thresholds in the wrong order are refused', () => {
  assert.throws(() => new SpeechSegmenter({ onsetThreshold: 0.3, offsetThreshold: 0.5 }), RangeError);
});
