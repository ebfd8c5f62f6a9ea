import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deleteSegment, editText, editTimes, importTranscript, insertSegment, mergeWithNext, redo, replaceText, revisionsOf, splitSegment, undo } from '../../electron/store/editing.js';
import { commitSegments, finishRun, runsOf, scaleDecisionsOf, startRun } from '../../electron/store/runs.js';
import { searchTranscripts } from '../../electron/store/search.js';
import { transcriptSegments } from '../../electron/store/segments.js';
import { StoreError } from '../../electron/store/store-error.js';
import { insertMedia } from '../../electron/store/library.js';
import { scratchStore, someMedia } from './support.js';

const settings = { bundleId: 'nestcap-av-small', device: 'cpu', policy: { scale: 'best', decoding: 'greedy' } };

const view = (db: Parameters<typeof transcriptSegments>[0], mediaId: number) =>
  transcriptSegments(db, mediaId).map((segment) => `${segment.startSeconds}-${segment.endSeconds} ${segment.text}`);

test('a person edits a transcript, undoes every step and redoes it, and the history keeps each edit', (t) => {
  const { db } = scratchStore(t);
  const media = someMedia(db);
  const run = startRun(db, media.id, settings);
  commitSegments(db, run.id, [
    { startSeconds: 1, endSeconds: 3, text: 'the budget review starts now', scaleId: 's0', modality: 'audio', confidence: 0.9 },
    { startSeconds: 4, endSeconds: 8, text: 'we will discuss hiring and travel', scaleId: 's0', modality: 'audio', confidence: 0.8 },
    { startSeconds: 9, endSeconds: 10, text: 'thanks', scaleId: 's1', modality: 'audio-visual', confidence: 0.7 },
  ]);
  finishRun(db, run.id);
  const original = view(db, media.id);
  const [first, second, third] = transcriptSegments(db, media.id);

  const states: string[][] = [original];
  editText(db, first!.id, 'The budget review starts now.');
  states.push(view(db, media.id));
  editTimes(db, third!.id, 8.5, 10.5);
  states.push(view(db, media.id));
  splitSegment(db, second!.id, 6);
  states.push(view(db, media.id));
  assert.deepEqual(view(db, media.id).slice(1, 3), ['4-6 we will discuss', '6-8 hiring and travel'], 'split at the word nearest the time');
  mergeWithNext(db, first!.id);
  states.push(view(db, media.id));
  assert.equal(view(db, media.id)[0], '1-6 The budget review starts now. we will discuss');
  deleteSegment(db, third!.id);
  states.push(view(db, media.id));
  insertSegment(db, media.id, { startSeconds: 11, endSeconds: 12, text: 'applause' });
  states.push(view(db, media.id));
  assert.deepEqual(view(db, media.id), ['1-6 The budget review starts now. we will discuss', '6-8 hiring and travel', '11-12 applause']);

  for (let step = states.length - 2; step >= 0; step -= 1) {
    assert.ok(undo(db, media.id));
    assert.deepEqual(view(db, media.id), states[step], `after undoing back to state ${step}`);
  }
  assert.equal(undo(db, media.id), undefined, 'nothing left to undo');
  for (let step = 1; step < states.length; step += 1) {
    assert.ok(redo(db, media.id));
    assert.deepEqual(view(db, media.id), states[step], `after redoing to state ${step}`);
  }
  assert.equal(redo(db, media.id), undefined);

  // A new edit after an undo drops the redo branch, but the audit trail keeps it.
  undo(db, media.id);
  editText(db, first!.id, 'Budget review.');
  assert.equal(redo(db, media.id), undefined);
  const history = revisionsOf(db, media.id);
  assert.deepEqual(history.map((revision) => `${revision.kind}:${revision.state}`), [
    'edit-text:applied', 'edit-times:applied', 'split:applied', 'merge:applied', 'delete:applied', 'insert:discarded', 'edit-text:applied',
  ]);
  assert.equal(history[0]!.before[0]!.text, 'the budget review starts now');
  assert.equal(history[0]!.after[0]!.text, 'The budget review starts now.');
});

test('edits that make no sense are refused with a reason and change nothing', (t) => {
  const { db } = scratchStore(t);
  const media = someMedia(db);
  insertSegment(db, media.id, { startSeconds: 1, endSeconds: 2, text: 'one' });
  insertSegment(db, media.id, { startSeconds: 3, endSeconds: 4, text: 'two' });
  const [one, two] = transcriptSegments(db, media.id);
  const before = view(db, media.id);
  const refused = (work: () => unknown, pattern: RegExp) =>
    assert.throws(work, (error: unknown) => error instanceof StoreError && error.kind === 'invalid-edit' && pattern.test(error.message));
  refused(() => editTimes(db, one!.id, 1, 3.5), /overlap the segment at 3\.00–4\.00 s \("two"\)/);
  refused(() => editTimes(db, one!.id, 2, 1), /end after it starts/);
  refused(() => editText(db, one!.id, '   '), /needs some text/);
  refused(() => splitSegment(db, one!.id, 5), /outside the segment/);
  refused(() => splitSegment(db, one!.id, 1.5), /text on both sides/);
  refused(() => mergeWithNext(db, two!.id), /last segment/);
  refused(() => insertSegment(db, media.id, { startSeconds: 0.5, endSeconds: 1.5, text: 'x' }), /overlap/);
  assert.throws(() => editText(db, 9999, 'x'), (error: unknown) => error instanceof StoreError && error.kind === 'not-found');
  assert.deepEqual(view(db, media.id), before);
  assert.equal(revisionsOf(db, media.id).length, 2, 'refused edits leave no revision');
});

test('a re-run replaces what nobody touched and keeps what a person edited or deleted, unless asked to overwrite', (t) => {
  const { db } = scratchStore(t);
  const media = someMedia(db);
  const first = startRun(db, media.id, settings);
  commitSegments(db, first.id, [
    { startSeconds: 1, endSeconds: 2, text: 'alpha' },
    { startSeconds: 3, endSeconds: 4, text: 'bravo' },
    { startSeconds: 5, endSeconds: 6, text: 'charlie' },
    { startSeconds: 7, endSeconds: 8, text: 'delta' },
  ]);
  finishRun(db, first.id);
  const [, bravo, charlie] = transcriptSegments(db, media.id);
  editText(db, bravo!.id, 'Bravo, corrected by hand');
  deleteSegment(db, charlie!.id);

  // A second run (another model or scale) produces different phrases over the same time.
  const second = startRun(db, media.id, settings);
  for (const segment of [
    { startSeconds: 1.1, endSeconds: 2.1, text: 'alpha two' },
    { startSeconds: 3.1, endSeconds: 3.9, text: 'bravo two' },
    { startSeconds: 5.2, endSeconds: 5.8, text: 'charlie two' },
    { startSeconds: 7.1, endSeconds: 8.2, text: 'delta two' },
  ]) {
    commitSegments(db, second.id, [segment]);
    // While the run is under way, the transcript is never empty nor doubled over a stretch.
    const texts = view(db, media.id);
    assert.equal(texts.filter((line) => line.includes('alpha')).length, 1, texts.join(' | '));
  }
  finishRun(db, second.id);
  assert.deepEqual(view(db, media.id), ['1.1-2.1 alpha two', '3-4 Bravo, corrected by hand', '7.1-8.2 delta two']);
  assert.deepEqual(runsOf(db, media.id).map((run) => run.state), ['superseded', 'finished']);

  const third = startRun(db, media.id, { ...settings, overwriteEdits: true });
  commitSegments(db, third.id, [{ startSeconds: 3.2, endSeconds: 3.8, text: 'bravo three' }]);
  finishRun(db, third.id);
  assert.deepEqual(view(db, media.id), ['3.2-3.8 bravo three'], 'asked to overwrite: only the new run remains');
});

test('committing the same stretch twice (a resumed run) adds nothing twice', (t) => {
  const { db } = scratchStore(t);
  const media = someMedia(db);
  const run = startRun(db, media.id, settings);
  const segments = [1, 3, 5, 7].map((start) => ({ startSeconds: start, endSeconds: start + 1, text: `at ${start}` }));
  for (const segment of segments.slice(0, 2)) commitSegments(db, run.id, [segment]);
  let skipped = 0;
  for (const segment of segments) skipped += commitSegments(db, run.id, [segment]).alreadyCommitted;
  assert.equal(skipped, 2);
  assert.deepEqual(view(db, media.id), ['1-2 at 1', '3-4 at 3', '5-6 at 5', '7-8 at 7']);
});

test('search finds words across transcripts and answers where to jump', (t) => {
  const { db } = scratchStore(t);
  const talk = someMedia(db, '/videos/talk.mp4', 'h1');
  const other = insertMedia(db, { libraryId: talk.libraryId! }, { path: '/videos/café meeting.mkv', contentHash: 'h2', sizeBytes: 1, modifiedMs: 1 });
  const run = startRun(db, talk.id, settings);
  commitSegments(db, run.id, [
    { startSeconds: 12.5, endSeconds: 14, text: 'the budget for next quarter' },
    { startSeconds: 20, endSeconds: 22, text: 'hiring plans' },
  ]);
  insertSegment(db, other.id, { startSeconds: 3, endSeconds: 4, text: 'Le budget du café' });

  const budget = searchTranscripts(db, 'budget');
  assert.deepEqual(budget.map((hit) => [hit.mediaPath, hit.startSeconds]).sort(), [['/videos/café meeting.mkv', 3], ['/videos/talk.mp4', 12.5]]);
  assert.match(budget.find((hit) => hit.mediaId === talk.id)!.snippet, /\[budget\]/);
  assert.equal(searchTranscripts(db, 'quart')[0]?.startSeconds, 12.5, 'the last word matches as a prefix while typing');
  assert.equal(searchTranscripts(db, 'CAFE')[0]?.mediaId, other.id, 'case and accents do not matter');
  assert.deepEqual(searchTranscripts(db, 'budget hiring'), [], 'every word must match in the segment');
  assert.deepEqual(searchTranscripts(db, '" OR NEAR( -'), [], 'query syntax typed by a person is inert');
  assert.equal(searchTranscripts(db, 'budget', { mediaId: talk.id }).length, 1);

  const hiring = transcriptSegments(db, talk.id)[1]!;
  editText(db, hiring.id, 'recruitment plans');
  assert.deepEqual(searchTranscripts(db, 'hiring'), []);
  assert.equal(searchTranscripts(db, 'recruitment')[0]?.segmentId, hiring.id);
  deleteSegment(db, hiring.id);
  assert.deepEqual(searchTranscripts(db, 'recruitment'), [], 'deleted segments are not found');
  undo(db, talk.id);
  assert.equal(searchTranscripts(db, 'recruitment').length, 1, 'and come back with undo');
});

test('importing captions replaces the transcript as one edit that undo reverses', (t) => {
  const { db } = scratchStore(t);
  const media = someMedia(db);
  insertSegment(db, media.id, { startSeconds: 1, endSeconds: 2, text: 'typed by hand' });
  importTranscript(db, media.id, [
    { startSeconds: 0.5, endSeconds: 1.5, text: 'imported one' },
    { startSeconds: 2, endSeconds: 3, text: 'imported two' },
  ]);
  assert.deepEqual(view(db, media.id), ['0.5-1.5 imported one', '2-3 imported two']);
  undo(db, media.id);
  assert.deepEqual(view(db, media.id), ['1-2 typed by hand']);
  redo(db, media.id);
  assert.deepEqual(view(db, media.id), ['0.5-1.5 imported one', '2-3 imported two']);
});

test('find and replace across a transcript is one edit: one undo takes every replacement back', (t) => {
  const { db } = scratchStore(t);
  const media = someMedia(db);
  insertSegment(db, media.id, { startSeconds: 1, endSeconds: 2, text: 'the Budget (draft) is late' });
  insertSegment(db, media.id, { startSeconds: 3, endSeconds: 4, text: 'no match here' });
  insertSegment(db, media.id, { startSeconds: 5, endSeconds: 6, text: 'budget budget' });
  const before = view(db, media.id);
  const revisionsBefore = revisionsOf(db, media.id).length;
  const revision = replaceText(db, media.id, 'budget', 'plan', false);
  assert.deepEqual(view(db, media.id), ['1-2 the plan (draft) is late', '3-4 no match here', '5-6 plan plan']);
  assert.equal(revision?.kind, 'replace');
  assert.equal(revisionsOf(db, media.id).length, revisionsBefore + 1, 'one revision for every segment it changed');
  assert.deepEqual(revision.before.map((segment) => segment.text), ['the Budget (draft) is late', 'budget budget']);
  undo(db, media.id);
  assert.deepEqual(view(db, media.id), before, 'a single undo restores all of them');
  redo(db, media.id);
  assert.equal(view(db, media.id)[2], '5-6 plan plan');
  assert.equal(replaceText(db, media.id, '(DRAFT)', '', true), undefined, 'match case: nothing matched, nothing recorded');
  replaceText(db, media.id, '(draft) ', '', true);
  assert.equal(view(db, media.id)[0], '1-2 the plan is late', 'pattern characters are literal');
  assert.equal(replaceText(db, media.id, 'plan plan', ' ', false), undefined, 'a replacement that would empty a segment is not made');
  assert.throws(() => replaceText(db, media.id, '', 'x', false), StoreError);
});

test('the scales a run used are stored with it, once per change, with the reasons, and survive a resumed commit', (t) => {
  const { db } = scratchStore(t);
  const media = someMedia(db);
  const run = startRun(db, media.id, settings);
  const segment = (start: number, scaleId: string, scaleReason: string) => ({ startSeconds: start, endSeconds: start + 1, text: `at ${start}`, scaleId, scaleReason });
  commitSegments(db, run.id, [segment(0, 's0', 'resources are plentiful'), segment(2, 's0', 'resources are plentiful')]);
  commitSegments(db, run.id, [segment(4, 's2', 'CPU busy 97% for 12 s'), segment(6, 's2', 'CPU busy 97% for 12 s')]);
  // a resumed run produces the last chunk again: no second decision
  commitSegments(db, run.id, [segment(6, 's2', 'CPU busy 97% for 12 s'), segment(8, 's0', 'CPU load back to 20%')]);
  assert.deepEqual(
    scaleDecisionsOf(db, run.id).map(({ fromSeconds, scaleId, reason }) => ({ fromSeconds, scaleId, reason })),
    [
      { fromSeconds: 0, scaleId: 's0', reason: 'resources are plentiful' },
      { fromSeconds: 4, scaleId: 's2', reason: 'CPU busy 97% for 12 s' },
      { fromSeconds: 8, scaleId: 's0', reason: 'CPU load back to 20%' },
    ],
  );
});
