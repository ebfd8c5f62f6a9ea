import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseSync, type NodeCue } from 'subtitle';
import { breakLines, buildCues, defaultCueOptions, presentText, type TimedText } from '../../electron/export/cues.js';
import { formatTimestamp, toSrt, toVtt } from '../../electron/export/formats.js';

const words = ['we', 'will', 'review', 'the', 'budget', 'and', 'then', 'discuss', 'hiring', 'for', 'next', 'quarter', 'because', 'demand', 'grew'];

/** Segments as the engine makes them: ordered, non-overlapping, 0.3–15 s long, 1–40 words. */
const segmentsArbitrary = fc
  .array(
    fc.record({
      gap: fc.double({ min: 0.05, max: 5, noNaN: true }),
      duration: fc.double({ min: 0.3, max: 15, noNaN: true }),
      text: fc.array(fc.constantFrom(...words), { minLength: 1, maxLength: 40 }).map((list) => list.join(' ')),
    }),
    { minLength: 1, maxLength: 12 },
  )
  .map((items) => {
    let time = 0;
    return items.map(({ gap, duration, text }): TimedText => {
      const startSeconds = time + gap;
      time = startSeconds + duration;
      return { startSeconds, endSeconds: time, text };
    });
  });

test('cues keep the conventions for any sequence of segments', () => {
  fc.assert(
    fc.property(segmentsArbitrary, (segments) => {
      const cues = buildCues(segments);
      const allText = cues.flatMap((cue) => cue.lines).join(' ');
      assert.equal(allText.toLowerCase(), segments.map((segment) => segment.text).join(' ').toLowerCase(), 'no word lost or added');
      cues.forEach((cue, index) => {
        assert.ok(cue.lines.length <= defaultCueOptions.maxLines, `cue ${index} has ${cue.lines.length} lines`);
        for (const line of cue.lines) assert.ok(line.length <= defaultCueOptions.maxLineLength, `"${line}" is ${line.length} characters`);
        assert.ok(cue.endSeconds - cue.startSeconds <= defaultCueOptions.maxDurationSeconds + 1e-9);
        assert.ok(cue.endSeconds > cue.startSeconds);
        const next = cues[index + 1];
        if (next) assert.ok(next.startSeconds - cue.endSeconds >= defaultCueOptions.minGapSeconds - 1e-9, 'gap between cues');
      });
    }),
    { numRuns: 300, seed: 42 },
  );
});

test('short cues are held for a second when the next cue leaves room', () => {
  const cues = buildCues([
    { startSeconds: 1, endSeconds: 1.3, text: 'yes' },
    { startSeconds: 5, endSeconds: 6, text: 'okay then' },
  ]);
  assert.equal(cues[0]!.endSeconds, 2);
});

test('lines break at phrase boundaries rather than mid-phrase', () => {
  assert.deepEqual(breakLines('We reviewed the numbers, and the team agreed to ship next week.', 42), [
    'We reviewed the numbers,',
    'and the team agreed to ship next week.',
  ]);
  assert.equal(presentText("i think i'm ready"), "I think I'm ready");
  assert.equal(formatTimestamp(3725.4567, ','), '01:02:05,457');
});

test('SRT and WebVTT are read back by ffmpeg and by an independent parser', () => {
  const segments: TimedText[] = [
    { startSeconds: 0.5, endSeconds: 2.8, text: 'the budget review starts now' },
    { startSeconds: 3.4, endSeconds: 9.9, text: 'we will discuss hiring for next quarter because demand grew faster than we planned <really> & more' },
    { startSeconds: 10.5, endSeconds: 11, text: 'thanks --> bye' },
  ];
  const cues = buildCues(segments);
  const directory = mkdtempSync(join(tmpdir(), 'nestcap-export-'));
  for (const [extension, text] of [['srt', toSrt(cues)], ['vtt', toVtt(cues)]] as const) {
    const path = join(directory, `captions.${extension}`);
    writeFileSync(path, text);

    const parsed = parseSync(readFileSync(path, 'utf8')).filter((node): node is NodeCue => node.type === 'cue');
    assert.equal(parsed.length, cues.length, `${extension}: cue count`);
    parsed.forEach((node, index) => {
      assert.equal(node.data.start, Math.round(cues[index]!.startSeconds * 1000));
      assert.equal(node.data.end, Math.round(cues[index]!.endSeconds * 1000));
    });

    // ffmpeg converts the file to its own SRT; every cue and its timing must survive.
    const viaFfmpeg = execFileSync('ffmpeg', ['-loglevel', 'error', '-i', path, '-f', 'srt', '-'], { encoding: 'utf8' });
    const reparsed = parseSync(viaFfmpeg).filter((node): node is NodeCue => node.type === 'cue');
    assert.deepEqual(
      reparsed.map((node) => [node.data.start, node.data.end]),
      parsed.map((node) => [node.data.start, node.data.end]),
      `${extension}: ffmpeg timings`,
    );
    assert.match(viaFfmpeg, /Thanks -> bye/);
  }
});
