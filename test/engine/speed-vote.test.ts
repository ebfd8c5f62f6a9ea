// The speed vote against the cases nestcap_av/speedvote.py wrote (native-models/tests/speed_vote_cases.json):
// the engine and the evaluation must vote alike, or the evaluated WER is not the engine's.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { alignWords, framesAt, playAt, voteWords, wordsOf } from '../../electron/engine/speed-vote.js';

interface Cases {
  readonly votes: readonly { pivot: string[]; others: string[][]; voted: string[]; aligned: string[][] }[];
  readonly playback: readonly { speed: number; pcm: number[]; played: number[]; frames: number[][]; frames_played: number[][] }[];
}

const cases = JSON.parse(readFileSync(new URL('../../native-models/tests/speed_vote_cases.json', import.meta.url), 'utf8')) as Cases;

test('every vote and alignment the evaluation computed, the engine computes alike', () => {
  assert.ok(cases.votes.length >= 40);
  let changed = 0;
  for (const { pivot, others, voted, aligned } of cases.votes) {
    assert.deepEqual(others.map((other) => alignWords(pivot, other)), aligned, `aligning to ${pivot.join(' ')}`);
    assert.deepEqual(voteWords(pivot, others), voted, `voting on ${pivot.join(' ')}`);
    if (voted.join(' ') !== pivot.join(' ')) changed += 1;
  }
  assert.ok(changed >= 5, `the cases change the pivot often enough to test the vote (${changed})`);
});

test('a strict majority replaces or drops a word; a split or a tie keeps it; nothing is added', () => {
  assert.deepEqual(voteWords(['a', 'b', 'c'], [['a', 'x', 'c'], ['a', 'x', 'c']]), ['a', 'x', 'c']);
  assert.deepEqual(voteWords(['a', 'b', 'c'], [['a', 'x', 'c'], ['a', 'y', 'c']]), ['a', 'b', 'c']);
  assert.deepEqual(voteWords(['a', 'b', 'c'], [['a', 'x', 'c']]), ['a', 'b', 'c']);
  assert.deepEqual(voteWords(['a', 'b', 'c'], [['a', 'c'], ['a', 'c']]), ['a', 'c']);
  assert.deepEqual(voteWords(['a', 'c'], [['a', 'b', 'c'], ['a', 'b', 'c']]), ['a', 'c']);
  assert.deepEqual(wordsOf('  the cat  sat '), ['the', 'cat', 'sat']);
});

test('audio and lip frames are played at a speed as the evaluation plays them', () => {
  for (const { speed, pcm, played, frames, frames_played } of cases.playback) {
    const ours = playAt(Float32Array.from(pcm), speed);
    assert.equal(ours.length, played.length, `samples at ${speed}`);
    ours.forEach((sample, index) => assert.ok(Math.abs(sample - played[index]!) < 1e-6, `sample ${index} at ${speed}`));
    const frameSize = frames[0]!.length;
    const picked = framesAt({ pixels: Uint8Array.from(frames.flat()), count: frames.length }, speed);
    assert.equal(picked.count, frames_played.length, `frames at ${speed}`);
    assert.deepEqual(Array.from(picked.pixels), frames_played.flat(), `frame pixels at ${speed}`);
    assert.equal(picked.pixels.length, picked.count * frameSize);
  }
  const pcm = Float32Array.from([0, 1, 2]);
  assert.equal(playAt(pcm, 1), pcm, 'speed 1 is the chunk itself');
});
