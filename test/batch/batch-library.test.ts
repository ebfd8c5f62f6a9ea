import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseSync, type NodeCue } from 'subtitle';
import { BatchQueue, type BatchEvent } from '../../electron/batch/batch-queue.js';
import { addLibraryFolder } from '../../electron/batch/library-scan.js';
import { OutputExistsError } from '../../electron/export/write-file.js';
import { readSubtitleFile } from '../../electron/export/subtitle-import.js';
import { exportTranscript } from '../../electron/export/transcript-export.js';
import { editText } from '../../electron/store/editing.js';
import { attemptsOf, getJob, listJobs, type Job } from '../../electron/store/jobs.js';
import { createLibrary, getMedia } from '../../electron/store/library.js';
import { runsOf } from '../../electron/store/runs.js';
import { searchTranscripts } from '../../electron/store/search.js';
import { transcriptSegments } from '../../electron/store/segments.js';
import { ffmpeg, scratchFolder } from '../media/fixtures.js';
import { scratchStore } from '../store/support.js';
import { phrases, prober, realCaptioner, speechFile } from './fixtures.js';

const byPath = (jobs: readonly Job[], name: string) => jobs.find((job) => job.mediaPath.endsWith(name))!;

test('a person adds a folder, follows progress, and comes back to searchable, editable, exportable transcripts', async (t) => {
  const folder = scratchFolder(t, 'nestcap-library-');
  mkdirSync(join(folder, 'nested'));
  speechFile(join(folder, 'team meeting.mp4'), phrases.slice(0, 4), { video: true });
  speechFile(join(folder, 'nested', 'standup.wav'), phrases.slice(4, 7));
  copyFileSync(join(folder, 'nested', 'standup.wav'), join(folder, 'nested', 'standup (copy).wav'));
  writeFileSync(join(folder, 'broken.mkv'), 'definitely not matroska');
  writeFileSync(join(folder, 'notes.txt'), 'not media');
  const { db } = scratchStore(t);
  const library = createLibrary(db, 'Team');

  await t.test('adding the folder finds the media, recursively, once per content', async () => {
    const scan = await addLibraryFolder(db, library.id, { path: folder }, { probe: prober });
    const standups = [join(folder, 'nested', 'standup (copy).wav'), join(folder, 'nested', 'standup.wav')];
    assert.deepEqual(scan.added.map((media) => media.path).sort(), [join(folder, 'broken.mkv'), standups[0], join(folder, 'team meeting.mp4')]);
    assert.deepEqual(scan.duplicates, [{ path: standups[1], sameAs: standups[0] }], 'identical content is captioned once');
    assert.equal(scan.jobs.length, 3);
    const meeting = scan.added.find((media) => media.path.endsWith('.mp4'))!;
    assert.ok(meeting.durationSeconds! > 10);
    assert.equal(meeting.video?.codec, 'h264');
    assert.match(meeting.contentHash, /^[0-9a-f]{64}$/);
    assert.match(scan.added.find((media) => media.path.endsWith('.mkv'))!.probeError!, /not an audio or video file/);
    const again = await addLibraryFolder(db, library.id, { path: folder }, { probe: prober });
    assert.equal(again.added.length + again.jobs.length, 0, 'adding it again changes nothing');
    assert.equal(again.unchanged, 3);
  });

  const events: BatchEvent[] = [];
  const { captioner, run } = await realCaptioner(t);
  const queue = new BatchQueue({ db, captioner, run, concurrency: 2, overallIntervalMs: 0, onEvent: (event) => events.push(event) });

  await t.test('the queue captions them two at a time, with progress per file and overall with an ETA', async () => {
    queue.start();
    await queue.whenIdle();
    const jobs = listJobs(db);
    assert.deepEqual(jobs.map((job) => job.state).sort(), ['failed', 'finished', 'finished']);
    const broken = byPath(jobs, 'broken.mkv');
    assert.equal(broken.errorKind, 'not-media');
    assert.match(broken.errorMessage!, /"broken\.mkv" is not an audio or video file/);

    for (const name of ['team meeting.mp4', 'standup (copy).wav']) {
      const job = byPath(jobs, name);
      const progress = events.filter((event): event is Extract<BatchEvent, { type: 'file-progress' }> => event.type === 'file-progress' && event.jobId === job.id);
      assert.ok(progress.length >= 5, `${name}: ${progress.length} progress events`);
      assert.ok(progress.at(-1)!.fraction! > 0.95, `${name} ends at ${progress.at(-1)!.fraction}`);
      assert.ok(progress.every((event, index) => index === 0 || event.processedSeconds >= progress[index - 1]!.processedSeconds));
    }
    const overall = events.filter((event): event is Extract<BatchEvent, { type: 'overall' }> => event.type === 'overall');
    assert.ok(overall.some((event) => event.etaSeconds !== undefined && event.etaSeconds > 0 && event.fraction > 0 && event.fraction < 1), 'an ETA while work was left');
    const last = overall.at(-1)!;
    assert.equal(last.fraction, 1);
    assert.deepEqual(last.counts, { queued: 0, running: 0, paused: 0, finished: 2, failed: 1, cancelled: 0 });
    const running = events.filter((event) => event.type === 'job' && event.job.state === 'running').length;
    assert.equal(running, 3);
  });

  const meeting = byPath(listJobs(db), 'team meeting.mp4');

  await t.test('each transcript is in time order within the media, with the run that made it', () => {
    const segments = transcriptSegments(db, meeting.mediaId);
    assert.ok(segments.length >= 2, `${segments.length} segments`);
    const duration = getMedia(db, meeting.mediaId).durationSeconds!;
    segments.forEach((segment, index) => {
      assert.ok(segment.startSeconds < segment.endSeconds && segment.endSeconds <= duration + 0.5);
      if (index > 0) assert.ok(segment.startSeconds >= segments[index - 1]!.endSeconds);
      assert.equal(segment.modality, 'audio');
      assert.equal(segment.scaleId, 's0');
    });
    const [made] = runsOf(db, meeting.mediaId);
    assert.deepEqual([made!.bundleId, made!.device, made!.state], [run.bundleId, 'cpu', 'finished']);
  });

  await t.test('search jumps to the right time in the right file', () => {
    const segment = transcriptSegments(db, meeting.mediaId)[1]!;
    const word = segment.text.split(' ').find((candidate) => /^[\p{L}\p{N}]+$/u.test(candidate))!;
    const hits = searchTranscripts(db, word, { libraryId: library.id });
    assert.ok(hits.some((hit) => hit.mediaId === meeting.mediaId && hit.startSeconds === segment.startSeconds), `"${word}" not found at ${segment.startSeconds}`);
  });

  await t.test('an edited transcript exports next to the media, readable by ffmpeg and another parser, never overwriting', async () => {
    const first = transcriptSegments(db, meeting.mediaId)[0]!;
    editText(db, first.id, 'Welcome to the budget review');
    const segments = transcriptSegments(db, meeting.mediaId);
    const request = { mediaPath: meeting.mediaPath, segments, formats: ['srt', 'vtt', 'txt', 'json'] as const, overwrite: false, timing: 'word' as const, metadata: { media: meeting.mediaPath } };
    const result = await exportTranscript(request);
    assert.deepEqual(result.failed, []);
    assert.deepEqual(result.written.map((entry) => entry.path), ['srt', 'vtt', 'txt', 'json'].map((extension) => join(folder, `team meeting.${extension}`)));

    for (const extension of ['srt', 'vtt']) {
      const path = join(folder, `team meeting.${extension}`);
      const ours = (await readSubtitleFile(path)).cues;
      assert.match(ours[0]!.text, /^Welcome to the budget review/);
      const theirs = parseSync(readFileSync(path, 'utf8')).filter((node): node is NodeCue => node.type === 'cue');
      assert.deepEqual(theirs.map((node) => node.data.start), ours.map((cue) => Math.round(cue.startSeconds * 1000)));
      const viaFfmpeg = execFileSync(ffmpeg.path, ['-loglevel', 'error', '-i', path, '-f', 'srt', '-'], { encoding: 'utf8' });
      assert.equal(parseSync(viaFfmpeg).filter((node) => node.type === 'cue').length, ours.length, `ffmpeg reads every ${extension} cue`);
    }
    assert.match(readFileSync(join(folder, 'team meeting.txt'), 'utf8'), /^\[00:00:0\d\] Welcome to the budget review/);
    const json = JSON.parse(readFileSync(join(folder, 'team meeting.json'), 'utf8')) as { segments: { startSeconds: number; endSeconds: number; words: { text: string; startSeconds: number; endSeconds: number }[] }[] };
    assert.equal(json.segments.length, segments.length);
    const words = json.segments[0]!.words;
    assert.deepEqual(words.map((word) => word.text), ['Welcome', 'to', 'the', 'budget', 'review']);
    assert.equal(words[0]!.startSeconds, Math.round(json.segments[0]!.startSeconds * 1000) / 1000);
    assert.ok(words.every((word, index) => word.endSeconds > word.startSeconds && (index === 0 || word.startSeconds === words[index - 1]!.endSeconds)));

    const srtBefore = statSync(join(folder, 'team meeting.srt')).mtimeMs;
    const again = await exportTranscript(request);
    assert.deepEqual(again.written, []);
    assert.ok(again.failed.every((failure) => failure.error instanceof OutputExistsError));
    assert.equal(statSync(join(folder, 'team meeting.srt')).mtimeMs, srtBefore);
    const elsewhere = join(folder, 'exports');
    mkdirSync(elsewhere);
    const chosen = await exportTranscript({ ...request, formats: ['srt'], outputDirectory: elsewhere });
    assert.deepEqual(chosen.written.map((entry) => entry.path), [join(elsewhere, 'team meeting.srt')]);
  });

  await t.test('a failed job can be retried; the error of each try is kept', async () => {
    const broken = byPath(listJobs(db), 'broken.mkv');
    queue.retryJob(broken.id);
    await queue.whenIdle();
    const retried = getJob(db, broken.id);
    assert.equal(retried.state, 'failed');
    assert.equal(retried.attempts, 2);
    assert.deepEqual(attemptsOf(db, broken.id).map((attempt) => [attempt.outcome, attempt.errorKind]), [['failed', 'not-media'], ['failed', 'not-media']]);
    await queue.stop();
  });
});

test('priorities decide the order; pause, resume and cancel lose nothing and double nothing', async (t) => {
  const folder = scratchFolder(t, 'nestcap-queue-');
  speechFile(join(folder, 'a.wav'), phrases.slice(0, 2));
  speechFile(join(folder, 'b.wav'), phrases.slice(2, 4));
  speechFile(join(folder, 'c.wav'), phrases.slice(0, 8));
  const { db } = scratchStore(t);
  const library = createLibrary(db, 'Queue');
  await addLibraryFolder(db, library.id, { path: folder }, { probe: prober });
  const { captioner, run } = await realCaptioner(t);
  const events: BatchEvent[] = [];
  let react: (event: BatchEvent) => void = () => undefined;
  const queue = new BatchQueue({
    db,
    captioner,
    run,
    concurrency: 1,
    onEvent: (event) => {
      events.push(event);
      react(event);
    },
  });
  t.after(() => queue.stop());
  const jobs = listJobs(db);
  const long = byPath(jobs, 'c.wav');
  queue.setPriority(long.id, 10);

  // Pause the long job once it has committed two segments.
  let segmentsSeen = 0;
  const paused = new Promise<void>((resolve) => {
    react = (event) => {
      if (event.type === 'segment' && event.jobId === long.id && ++segmentsSeen === 2) {
        queue.pauseJob(long.id);
        resolve();
      }
    };
  });
  queue.start();
  await paused;
  await queue.whenIdle();
  const order = events.filter((event): event is Extract<BatchEvent, { type: 'job' }> => event.type === 'job' && event.job.state === 'running').map((event) => event.job.mediaPath.slice(-5));
  assert.deepEqual(order, ['c.wav', 'a.wav', 'b.wav'], 'the high-priority job ran first; the others ran while it was paused');
  assert.equal(getJob(db, long.id).state, 'paused');
  const atPause = transcriptSegments(db, long.mediaId).length;
  assert.ok(atPause >= 2);

  queue.resumeJob(long.id);
  await queue.whenIdle();
  const finished = transcriptSegments(db, long.mediaId);
  assert.equal(getJob(db, long.id).state, 'finished');
  assert.ok(finished.length > atPause);
  assert.equal(new Set(finished.map((segment) => segment.startSeconds)).size, finished.length, 'no segment doubled');
  assert.equal(runsOf(db, long.mediaId).length, 1, 'the paused run was continued');

  // Cancel keeps what was committed; a retry continues it.
  const short = byPath(jobs, 'a.wav');
  const rerun = queue.enqueue(short.mediaId, { overwriteEdits: false });
  let cancelled = false;
  react = (event) => {
    if (!cancelled && event.type === 'segment' && event.jobId === rerun.id) {
      cancelled = true;
      queue.cancelJob(rerun.id);
    }
  };
  await queue.whenIdle();
  assert.equal(getJob(db, rerun.id).state, 'cancelled');
  assert.deepEqual(runsOf(db, short.mediaId).map((entry) => entry.state), ['finished', 'cancelled']);
  queue.retryJob(rerun.id);
  await queue.whenIdle();
  assert.equal(getJob(db, rerun.id).state, 'finished');
  assert.deepEqual(runsOf(db, short.mediaId).map((entry) => entry.state), ['superseded', 'finished'], 'the cancelled run was resumed and replaced the first');
  const texts = transcriptSegments(db, short.mediaId);
  assert.equal(new Set(texts.map((segment) => segment.startSeconds)).size, texts.length);
});
