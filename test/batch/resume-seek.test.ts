import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CaptionRequest } from '../../electron/batch/batch-queue.js';
import type { NewSegment } from '../../electron/store/runs.js';
import { scratchFolder } from '../media/fixtures.js';
import { phrases, realCaptioner, speechFile } from './fixtures.js';

/**
 * A resumed job must not decode its file from the start again (a three-hour recording killed
 * near the end would take as long again): the captioner seeks to just before the committed
 * point, and what it writes from there matches what an uninterrupted run wrote.
 */

async function caption(captioner: (request: CaptionRequest) => Promise<unknown>, path: string, resumeFromSeconds: number) {
  const segments: NewSegment[] = [];
  const progress: number[] = [];
  await captioner({
    path,
    resumeFromSeconds,
    signal: new AbortController().signal,
    onProgress: (processedSeconds) => progress.push(processedSeconds),
    onSegment: (segment) => void segments.push(segment),
  });
  return { segments, progress };
}

test('a resumed job seeks to its committed point and continues with the same segments in media time', async (t) => {
  const path = speechFile(join(scratchFolder(t), 'standup.m4a'), phrases.slice(0, 5));
  const { captioner } = await realCaptioner(t);
  const whole = await caption(captioner, path, 0);
  assert.equal(whole.segments.length, 5, 'one segment per phrase');

  const resumeFrom = whole.segments[2]!.startSeconds - 0.2;
  const resumed = await caption(captioner, path, resumeFrom);
  assert.ok(resumed.progress[0]! > resumeFrom - 1, `the first progress report (${resumed.progress[0]!.toFixed(2)} s) is past the seek point, not near 0`);
  assert.ok(Math.min(...resumed.progress) >= resumeFrom - 1, 'nothing before the seek point is decoded again');
  // AAC seeks land within a few milliseconds, not on the exact sample, so the words may differ
  // slightly from the uninterrupted run; a WAV resumes sample-exact (crash-resume.test.ts).
  const expected = whole.segments.filter((segment) => segment.startSeconds >= resumeFrom);
  assert.equal(resumed.segments.length, expected.length, 'the same phrases after the committed point, none before it');
  resumed.segments.forEach((segment, index) => {
    assert.ok(Math.abs(segment.startSeconds - expected[index]!.startSeconds) < 0.1, `segment ${index} starts at ${segment.startSeconds} (uninterrupted: ${expected[index]!.startSeconds})`);
    assert.ok(Math.abs(segment.endSeconds - expected[index]!.endSeconds) < 0.1, `segment ${index} ends at ${segment.endSeconds} (uninterrupted: ${expected[index]!.endSeconds})`);
  });
  assert.equal(resumed.progress.at(-1)!.toFixed(1), whole.progress.at(-1)!.toFixed(1), 'both end at the end of the file');

  const past = await caption(captioner, path, whole.progress.at(-1)! + 30);
  assert.deepEqual(past.segments, [], 'a committed point past the end (a finished job) decodes nothing and fails nothing');
});
