import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseSync, type NodeCue } from 'subtitle';
import { buildCues, type TimedText } from '../../electron/export/cues.js';
import { toSrt, toVtt } from '../../electron/export/formats.js';
import { exportStoredTranscript, importCaptionFile } from '../../electron/export/stored-transcript.js';
import { decodeSubtitleBytes, parseSubtitles, readSubtitleFile, SubtitleParseError, type SubtitleFormat } from '../../electron/export/subtitle-import.js';
import { editText } from '../../electron/store/editing.js';
import { transcriptSegments } from '../../electron/store/segments.js';
import { scratchStore, someMedia } from '../store/support.js';

const times = (cues: readonly { startSeconds: number; endSeconds: number }[]) => cues.map((cue) => [cue.startSeconds, cue.endSeconds]);

test('an SRT file from another tool is read for editing, styling and all', () => {
  const srt = [
    '\uFEFF1',
    '00:00:01,000 --> 00:00:02,500',
    '<i>Hello</i> there,',
    '{\\an8}general Kenobi',
    '',
    '',
    '00:00:03.250 --> 00:00:04,000 X1:10 X2:20 Y1:5 Y2:9',
    'no number above, a dot in the time, <3 kept',
    '',
    '3',
    '01:02:03,004 --> 01:02:05,000',
    '<font color="#ff0000">Red</font> & <b>bold</b>',
    '',
  ].join('\r\n');
  const cues = parseSubtitles(srt, 'srt');
  assert.deepEqual(times(cues), [[1, 2.5], [3.25, 4], [3723.004, 3725]]);
  assert.deepEqual(cues.map((cue) => cue.lines), [['Hello there,', 'general Kenobi'], ['no number above, a dot in the time, <3 kept'], ['Red & bold']]);
  assert.equal(cues[0]!.text, 'Hello there, general Kenobi');
  assert.deepEqual(cues.map((cue) => cue.line), [2, 7, 11], 'each cue knows its line for error messages in the editor');
});

test('a WebVTT file with header, notes, styles, identifiers, settings and voices is read for editing', () => {
  const vtt = `WEBVTT - a lecture
Kind: captions

NOTE written by hand
over two lines

STYLE
::cue { color: yellow }

intro
00:01.000 --> 00:04.000 align:start position:10%
<v Roger>We &amp; they &lt;agree&gt;</v>
<c.loud>today</c> &#233;t&#xE9;

00:00:05.500 --> 00:00:06.000
<00:00:05.700>karaoke <b>words</b>
`;
  const cues = parseSubtitles(vtt, 'vtt');
  assert.deepEqual(times(cues), [[1, 4], [5.5, 6]]);
  assert.deepEqual(cues.map((cue) => cue.lines), [['We & they <agree>', 'today été'], ['karaoke words']]);
});

test('malformed files are refused with the line number of every problem', () => {
  const srt = ['1', '00:00:01,000 --> 00:00:02,000', 'fine', '', '2', '00:00:03,000 -> 00:00:04,000', 'arrow typo', '', '3', '00:00:05,000 --> 00:00:04,000', 'backwards', '', '4', '00:00:06,000 --> 00:00:07,000', 'no blank line', '5', '00:00:08,000 --> 00:00:09,000', 'next', '', '6', '00:01:75,000 --> 00:01:80,000', 'bad seconds', ''].join('\n');
  assert.throws(() => parseSubtitles(srt, 'srt', 'talk.srt'), (error: unknown) => {
    assert.ok(error instanceof SubtitleParseError);
    assert.deepEqual(error.problems.map((problem) => problem.line), [6, 10, 17, 21, 21]);
    assert.match(error.message, /^talk\.srt is not a valid SRT file:\n {2}line 6: expected a time line like "00:00:01,000 --> 00:00:02,500", found "00:00:03,000 -> 00:00:04,000"/);
    assert.match(error.message, /line 10: the cue ends \(00:00:04,000\) before or when it starts/);
    assert.match(error.message, /line 17: a time line inside a cue; is the blank line before it missing\?/);
    assert.match(error.message, /line 21: "00:01:75,000" has seconds above 59/);
    return true;
  });
  assert.throws(() => parseSubtitles('00:00:01.000 --> 00:00:02.000\nno header\n', 'vtt'), (error: unknown) => {
    assert.ok(error instanceof SubtitleParseError);
    assert.deepEqual(error.problems, [{ line: 1, message: 'a WebVTT file must start with "WEBVTT"' }]);
    return true;
  });
  assert.throws(() => parseSubtitles('WEBVTT\n\n00:00:01,000 --> 00:00:02,000\ncomma\n', 'vtt'), /line 3: "00:00:01,000" is not a time like 00:01:02\.500/);
});

test('subtitle files in legacy encodings are read as what they are, not as replacement marks', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'nestcap-import-'));
  const latin = join(directory, 'old.srt');
  writeFileSync(latin, Buffer.concat([Buffer.from('1\n00:00:01,000 --> 00:00:02,000\ncaf'), Buffer.from([0xe9]), Buffer.from(' cr'), Buffer.from([0xe8]), Buffer.from('me\n')]));
  const read = await readSubtitleFile(latin);
  assert.equal(read.encoding, 'windows-1252');
  assert.equal(read.cues[0]!.text, 'café crème');

  const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('WEBVTT\n\n00:01.000 --> 00:02.000\nnaïve\n', 'utf16le')]);
  const decoded = decodeSubtitleBytes(utf16);
  assert.equal(decoded.encoding, 'utf-16le');
  assert.equal(parseSubtitles(decoded.text, 'vtt')[0]!.text, 'naïve');

  const vttNamedSrt = join(directory, 'mislabelled.srt');
  writeFileSync(vttNamedSrt, 'WEBVTT\n\n00:01.000 --> 00:02.000\ncontent decides\n');
  assert.equal((await readSubtitleFile(vttNamedSrt)).format, 'vtt');
  await assert.rejects(readSubtitleFile(join(directory, 'missing.srt')), /ENOENT/);
});

/** Words as people and recognizers write them: any script, digits, punctuation, markup-like text. */
const wordArbitrary = fc.string({
  unit: fc.constantFrom('a', 'Z', 'é', 'ß', 'д', '中', '文', 'ع', '😀', '0', '7', ':', ',', '.', '-', '>', '<', '&', ';', '#', '"', "'", '{', '}', '\\', '/', '\u200b'),
  minLength: 1,
  maxLength: 8,
});

const segmentsArbitrary = fc
  .array(fc.record({ gap: fc.integer({ min: 50, max: 4000 }), duration: fc.integer({ min: 200, max: 12_000 }), words: fc.array(wordArbitrary, { minLength: 1, maxLength: 25 }) }), { minLength: 1, maxLength: 10 })
  .map((items) => {
    let time = 0;
    return items.map(({ gap, duration, words }): TimedText => {
      const startSeconds = (time + gap) / 1000;
      time += gap + duration;
      return { startSeconds, endSeconds: time / 1000, text: words.join(' ') };
    });
  });

/** SRT has no escaping: text that spells a styling tag cannot survive any SRT reader. */
const srtSafe = (segments: readonly TimedText[]) => segments.every((segment) => !/<\/?(?:i|b|u|s)>|<font\b|<\/font>|\{\\/i.test(segment.text));

test('export → import → export gives the same file, for any transcript, in SRT and WebVTT', () => {
  fc.assert(
    fc.property(segmentsArbitrary, (segments) => {
      const cues = buildCues(segments);
      const writers: Record<SubtitleFormat, typeof toSrt> = { srt: toSrt, vtt: toVtt };
      for (const format of ['srt', 'vtt'] as const) {
        if (format === 'srt' && !srtSafe(segments)) continue;
        const first = writers[format](cues);
        const imported = parseSubtitles(first, format);
        assert.equal(writers[format](imported), first, format);
        // Across formats too: what came in as one format goes out as the other unchanged.
        const other = format === 'srt' ? 'vtt' : 'srt';
        if (other === 'vtt' || srtSafe(segments)) assert.equal(writers[other](imported), writers[other](cues), `${format} → ${other}`);
      }
    }),
    {
      numRuns: 400,
      seed: 7,
      // Found by hand: "--->" once became a new "-->", which every reader takes for a time line.
      examples: [[[{ startSeconds: 1, endSeconds: 3, text: 'before ---> after' }, { startSeconds: 4, endSeconds: 5, text: '&amp; <i>x</i> -->' }]]],
    },
  );
});

test('an independent parser (npm "subtitle") reads the same cues as our importer', () => {
  fc.assert(
    fc.property(segmentsArbitrary, (segments) => {
      const cues = buildCues(segments);
      for (const [format, text] of [['srt', toSrt(cues)], ['vtt', toVtt(cues)]] as const) {
        const ours = parseSubtitles(text, format);
        const theirs = parseSync(text).filter((node): node is NodeCue => node.type === 'cue');
        assert.deepEqual(theirs.map((node) => [node.data.start, node.data.end]), ours.map((cue) => [Math.round(cue.startSeconds * 1000), Math.round(cue.endSeconds * 1000)]), format);
      }
    }),
    { numRuns: 150, seed: 11 },
  );
});

test('a person imports an old SRT for a video, fixes a line, and exports WebVTT; a broken file changes nothing', async (t) => {
  const { db, directory } = scratchStore(t);
  const media = someMedia(db, join(directory, 'lecture.mp4'));
  const srt = join(directory, 'lecture (old).srt');
  writeFileSync(srt, '1\n00:00:01,000 --> 00:00:03,000\nwelcome to the lectur\n\n2\n00:00:04,000 --> 00:00:06,500\ntoday: fourier series\n');
  const { file } = await importCaptionFile(db, media.id, srt);
  assert.equal(file.format, 'srt');
  const [first] = transcriptSegments(db, media.id);
  editText(db, first!.id, 'Welcome to the lecture');

  const exported = await exportStoredTranscript(db, media.id, { formats: ['vtt', 'json'], overwrite: false });
  assert.deepEqual(exported.failed, []);
  const vtt = readFileSync(join(directory, 'lecture.vtt'), 'utf8');
  assert.deepEqual(parseSubtitles(vtt, 'vtt').map((cue) => [cue.startSeconds, cue.text]), [[1, 'Welcome to the lecture'], [4, 'Today: fourier series']]);
  const json = JSON.parse(readFileSync(join(directory, 'lecture.json'), 'utf8')) as { media: string; segments: { edited?: boolean }[] };
  assert.equal(json.media, media.path);
  assert.deepEqual(json.segments.map((segment) => segment.edited), [true, true], 'imported and edited lines are marked as a person\'s');

  const broken = join(directory, 'broken.srt');
  writeFileSync(broken, '1\n00:00:01,000 --> later\nhm\n');
  await assert.rejects(importCaptionFile(db, media.id, broken), (error: unknown) => error instanceof SubtitleParseError && /broken\.srt is not a valid SRT file:\n {2}line 2: "later" is not a time/.test(error.message));
  assert.equal(transcriptSegments(db, media.id)[0]!.text, 'Welcome to the lecture', 'the transcript is as it was');
});
