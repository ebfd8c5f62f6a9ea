import { stamp } from './clock.js';
import type { SqliteDatabase } from './database.js';
import { getMedia } from './library.js';
import { getSegment, toSegment, type SegmentRow, type StoredSegment } from './segments.js';
import { read, StoreError, writeTransaction } from './store-error.js';

/**
 * The transcript editor's operations. Every edit is one revision holding the affected segments
 * before and after, so undo and redo replay exact states and the history doubles as an audit
 * trail. Edited segments are flagged, and re-runs leave them alone unless told otherwise.
 */

export type RevisionKind = 'edit-text' | 'edit-times' | 'split' | 'merge' | 'delete' | 'insert' | 'import' | 'replace';
export type RevisionState = 'applied' | 'undone' | 'discarded';

/** A segment's whole row, or `absent` for one that did not exist on that side of the edit. */
type SegmentState = SegmentRow | { id: number; absent: true };

export interface Revision {
  readonly id: number;
  readonly mediaId: number;
  readonly kind: RevisionKind;
  readonly state: RevisionState;
  readonly createdAt: string;
  readonly changedAt: string | undefined;
  readonly before: readonly StoredSegment[];
  readonly after: readonly StoredSegment[];
}

interface RevisionRow {
  id: number;
  media_id: number;
  kind: RevisionKind;
  before: string;
  after: string;
  state: RevisionState;
  created_at: string;
  changed_at: string | null;
}

const present = (states: readonly SegmentState[]): StoredSegment[] =>
  states.filter((state): state is SegmentRow => !('absent' in state)).map(toSegment);

function toRevision(row: RevisionRow): Revision {
  return {
    id: row.id,
    mediaId: row.media_id,
    kind: row.kind,
    state: row.state,
    createdAt: row.created_at,
    changedAt: row.changed_at ?? undefined,
    before: present(JSON.parse(row.before) as SegmentState[]),
    after: present(JSON.parse(row.after) as SegmentState[]),
  };
}

function rowOf(db: SqliteDatabase, segmentId: number): SegmentRow {
  const row = db.prepare('select * from segments where id = ?').get(segmentId) as SegmentRow | undefined;
  if (row === undefined || row.deleted === 1) throw new StoreError('not-found', `Segment ${segmentId} is not in the transcript.`);
  return row;
}

function applyState(db: SqliteDatabase, state: SegmentState): void {
  if ('absent' in state) {
    db.prepare('delete from segments where id = ?').run(state.id);
    return;
  }
  db.prepare(
    `insert into segments (id, media_id, run_id, start_seconds, end_seconds, text, scale_id, modality, confidence, video_missing, edited, deleted)
     values (@id, @media_id, @run_id, @start_seconds, @end_seconds, @text, @scale_id, @modality, @confidence, @video_missing, @edited, @deleted)
     on conflict (id) do update set run_id = excluded.run_id, start_seconds = excluded.start_seconds, end_seconds = excluded.end_seconds,
       text = excluded.text, scale_id = excluded.scale_id, modality = excluded.modality, confidence = excluded.confidence,
       video_missing = excluded.video_missing, edited = excluded.edited, deleted = excluded.deleted`,
  ).run({ ...state, run_id: state.run_id !== null && db.prepare('select 1 from runs where id = ?').get(state.run_id) ? state.run_id : null });
}

function checkTimes(startSeconds: number, endSeconds: number): void {
  if (!Number.isFinite(startSeconds) || !Number.isFinite(endSeconds) || startSeconds < 0 || endSeconds <= startSeconds) {
    throw new StoreError('invalid-edit', `A segment must start at 0 s or later and end after it starts (got ${startSeconds} to ${endSeconds} s).`);
  }
}

/** Neighbours may touch but not overlap: the subtitle writers assume time order. */
function checkNoOverlap(db: SqliteDatabase, mediaId: number, startSeconds: number, endSeconds: number, ignore: readonly number[]): void {
  const rows = db
    .prepare('select * from segments where media_id = ? and deleted = 0 and start_seconds < ? and end_seconds > ?')
    .all(mediaId, endSeconds, startSeconds) as SegmentRow[];
  const clash = rows.find((row) => !ignore.includes(row.id));
  if (clash) {
    throw new StoreError('invalid-edit', `That would overlap the segment at ${clash.start_seconds.toFixed(2)}–${clash.end_seconds.toFixed(2)} s ("${clash.text.slice(0, 40)}").`);
  }
}

/** Records one edit: snapshots before, runs the change, snapshots after, drops the redo branch. */
function edit(db: SqliteDatabase, mediaId: number, kind: RevisionKind, touched: () => number[], change: () => number[], now?: () => Date): Revision {
  return writeTransaction(db, () => {
    const snapshot = (ids: readonly number[]): SegmentState[] =>
      ids.map((id) => (db.prepare('select * from segments where id = ?').get(id) as SegmentRow | undefined) ?? { id, absent: true as const });
    const beforeIds = touched();
    const before = snapshot(beforeIds);
    const created = change();
    const ids = [...new Set([...beforeIds, ...created])];
    const after = snapshot(ids);
    const beforeAll = [...before, ...created.filter((id) => !beforeIds.includes(id)).map((id) => ({ id, absent: true as const }))];
    const at = stamp(now);
    db.prepare("update revisions set state = 'discarded', changed_at = ? where media_id = ? and state = 'undone'").run(at, mediaId);
    const { lastInsertRowid } = db
      .prepare('insert into revisions (media_id, kind, before, after, created_at) values (?, ?, ?, ?, ?)')
      .run(mediaId, kind, JSON.stringify(beforeAll), JSON.stringify(after), at);
    return getRevision(db, Number(lastInsertRowid));
  });
}

export function getRevision(db: SqliteDatabase, revisionId: number): Revision {
  const row = read(db, () => db.prepare('select * from revisions where id = ?').get(revisionId) as RevisionRow | undefined);
  if (row === undefined) throw new StoreError('not-found', `Revision ${revisionId} does not exist.`);
  return toRevision(row);
}

/** Every edit of a media's transcript, oldest first, including undone and discarded ones. */
export function revisionsOf(db: SqliteDatabase, mediaId: number): Revision[] {
  return read(db, () => (db.prepare('select * from revisions where media_id = ? order by id').all(mediaId) as RevisionRow[]).map(toRevision));
}

function mediaOfSegment(db: SqliteDatabase, segmentId: number): number {
  const segment = getSegment(db, segmentId);
  if (segment === undefined || segment.deleted) throw new StoreError('not-found', `Segment ${segmentId} is not in the transcript.`);
  return segment.mediaId;
}

export function editText(db: SqliteDatabase, segmentId: number, text: string, now?: () => Date): Revision {
  const trimmed = text.trim();
  if (trimmed.length === 0) throw new StoreError('invalid-edit', 'A segment needs some text; delete it instead.');
  return edit(db, mediaOfSegment(db, segmentId), 'edit-text', () => [segmentId], () => {
    rowOf(db, segmentId);
    db.prepare('update segments set text = ?, edited = 1 where id = ?').run(trimmed, segmentId);
    return [];
  }, now);
}

export function editTimes(db: SqliteDatabase, segmentId: number, startSeconds: number, endSeconds: number, now?: () => Date): Revision {
  checkTimes(startSeconds, endSeconds);
  const mediaId = mediaOfSegment(db, segmentId);
  return edit(db, mediaId, 'edit-times', () => [segmentId], () => {
    rowOf(db, segmentId);
    checkNoOverlap(db, mediaId, startSeconds, endSeconds, [segmentId]);
    db.prepare('update segments set start_seconds = ?, end_seconds = ?, edited = 1 where id = ?').run(startSeconds, endSeconds, segmentId);
    return [];
  }, now);
}

/**
 * Splits a segment at a time; the text splits at `textIndex` (the editor's cursor) or, without
 * one, at the word boundary nearest the same share of the text as the time.
 */
export function splitSegment(db: SqliteDatabase, segmentId: number, atSeconds: number, textIndex?: number, now?: () => Date): Revision {
  const mediaId = mediaOfSegment(db, segmentId);
  return edit(db, mediaId, 'split', () => [segmentId], () => {
    const row = rowOf(db, segmentId);
    if (!(atSeconds > row.start_seconds && atSeconds < row.end_seconds)) {
      throw new StoreError('invalid-edit', `Split at ${atSeconds} s is outside the segment (${row.start_seconds}–${row.end_seconds} s).`);
    }
    const index = textIndex ?? wordBoundaryNear(row.text, ((atSeconds - row.start_seconds) / (row.end_seconds - row.start_seconds)) * row.text.length);
    const first = row.text.slice(0, index).trim();
    const second = row.text.slice(index).trim();
    if (first.length === 0 || second.length === 0) throw new StoreError('invalid-edit', 'A split must leave text on both sides.');
    db.prepare('update segments set text = ?, end_seconds = ?, edited = 1 where id = ?').run(first, atSeconds, segmentId);
    const { lastInsertRowid } = db
      .prepare(
        `insert into segments (media_id, run_id, start_seconds, end_seconds, text, scale_id, modality, confidence, video_missing, edited)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
      )
      .run(mediaId, row.run_id, atSeconds, row.end_seconds, second, row.scale_id, row.modality, row.confidence, row.video_missing);
    return [Number(lastInsertRowid)];
  }, now);
}

function wordBoundaryNear(text: string, position: number): number {
  let best = -1;
  for (let index = text.indexOf(' '); index >= 0; index = text.indexOf(' ', index + 1)) {
    if (best < 0 || Math.abs(index - position) < Math.abs(best - position)) best = index;
  }
  return Math.max(0, best); // one word: nothing to split between
}

/** Merges a segment with the one right after it in time. */
export function mergeWithNext(db: SqliteDatabase, segmentId: number, now?: () => Date): Revision {
  const mediaId = mediaOfSegment(db, segmentId);
  const next = () => {
    const row = rowOf(db, segmentId);
    const following = db
      .prepare('select * from segments where media_id = ? and deleted = 0 and id <> ? and (start_seconds > ? or (start_seconds = ? and id > ?)) order by start_seconds, id limit 1')
      .get(mediaId, segmentId, row.start_seconds, row.start_seconds, segmentId) as SegmentRow | undefined;
    if (following === undefined) throw new StoreError('invalid-edit', 'This is the last segment; there is nothing after it to merge with.');
    return { row, following };
  };
  return edit(db, mediaId, 'merge', () => {
    const { following } = next();
    return [segmentId, following.id];
  }, () => {
    const { row, following } = next();
    db.prepare('update segments set text = ?, end_seconds = ?, edited = 1 where id = ?').run(`${row.text} ${following.text}`, Math.max(row.end_seconds, following.end_seconds), segmentId);
    db.prepare('update segments set deleted = 1, edited = 1 where id = ?').run(following.id);
    return [];
  }, now);
}

/** Deletes a segment; it stays as a tombstone so a re-run does not bring it back. */
export function deleteSegment(db: SqliteDatabase, segmentId: number, now?: () => Date): Revision {
  return edit(db, mediaOfSegment(db, segmentId), 'delete', () => [segmentId], () => {
    rowOf(db, segmentId);
    db.prepare('update segments set deleted = 1, edited = 1 where id = ?').run(segmentId);
    return [];
  }, now);
}

export function insertSegment(db: SqliteDatabase, mediaId: number, segment: { startSeconds: number; endSeconds: number; text: string }, now?: () => Date): Revision {
  checkTimes(segment.startSeconds, segment.endSeconds);
  const text = segment.text.trim();
  if (text.length === 0) throw new StoreError('invalid-edit', 'A segment needs some text.');
  getMedia(db, mediaId);
  return edit(db, mediaId, 'insert', () => [], () => {
    checkNoOverlap(db, mediaId, segment.startSeconds, segment.endSeconds, []);
    const { lastInsertRowid } = db
      .prepare('insert into segments (media_id, start_seconds, end_seconds, text, edited) values (?, ?, ?, ?, 1)')
      .run(mediaId, segment.startSeconds, segment.endSeconds, text);
    return [Number(lastInsertRowid)];
  }, now);
}

/**
 * Find and replace across a media's transcript as one revision, so one undo takes the whole
 * replacement back. Matches are literal (no pattern syntax); a segment the replacement would leave
 * empty keeps its text. Undefined when nothing matched (no revision is recorded).
 */
export function replaceText(db: SqliteDatabase, mediaId: number, find: string, replacement: string, matchCase: boolean, now?: () => Date): Revision | undefined {
  if (find.length === 0) throw new StoreError('invalid-edit', 'Say what to find.');
  getMedia(db, mediaId);
  const pattern = new RegExp(find.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), matchCase ? 'g' : 'gi');
  const rows = db.prepare('select id, text from segments where media_id = ? and deleted = 0 order by start_seconds').all(mediaId) as { id: number; text: string }[];
  const changes = rows
    .map((row) => ({ id: row.id, before: row.text, text: row.text.replace(pattern, () => replacement).trim() }))
    .filter((change) => change.text.length > 0 && change.text !== change.before);
  if (changes.length === 0) return undefined;
  return edit(db, mediaId, 'replace', () => changes.map((change) => change.id), () => {
    const update = db.prepare('update segments set text = ?, edited = 1 where id = ?');
    for (const change of changes) update.run(change.text, change.id);
    return [];
  }, now);
}

/**
 * Replaces a media's transcript with imported cues (e.g. an existing SRT), as one revision: undo
 * brings the previous transcript back. Imported segments count as edits, so a later run keeps them.
 */
export function importTranscript(db: SqliteDatabase, mediaId: number, cues: readonly { startSeconds: number; endSeconds: number; text: string }[], now?: () => Date): Revision {
  getMedia(db, mediaId);
  for (const cue of cues) checkTimes(cue.startSeconds, cue.endSeconds);
  return edit(db, mediaId, 'import', () => (db.prepare('select id from segments where media_id = ? and deleted = 0').all(mediaId) as { id: number }[]).map((row) => row.id), () => {
    db.prepare('update segments set deleted = 1, edited = 1 where media_id = ? and deleted = 0').run(mediaId);
    const insert = db.prepare('insert into segments (media_id, start_seconds, end_seconds, text, edited) values (?, ?, ?, ?, 1)');
    return cues.map((cue) => Number(insert.run(mediaId, cue.startSeconds, cue.endSeconds, cue.text.trim()).lastInsertRowid));
  }, now);
}

/** Undoes the latest applied edit of this media's transcript; undefined when there is none. */
export function undo(db: SqliteDatabase, mediaId: number, now?: () => Date): Revision | undefined {
  return writeTransaction(db, () => {
    const row = db.prepare("select * from revisions where media_id = ? and state = 'applied' order by id desc limit 1").get(mediaId) as RevisionRow | undefined;
    if (row === undefined) return undefined;
    for (const state of JSON.parse(row.before) as SegmentState[]) applyState(db, state);
    db.prepare("update revisions set state = 'undone', changed_at = ? where id = ?").run(stamp(now), row.id);
    return getRevision(db, row.id);
  });
}

/** Re-applies the earliest undone edit; undefined when there is nothing to redo. */
export function redo(db: SqliteDatabase, mediaId: number, now?: () => Date): Revision | undefined {
  return writeTransaction(db, () => {
    const row = db.prepare("select * from revisions where media_id = ? and state = 'undone' order by id limit 1").get(mediaId) as RevisionRow | undefined;
    if (row === undefined) return undefined;
    for (const state of JSON.parse(row.after) as SegmentState[]) applyState(db, state);
    db.prepare("update revisions set state = 'applied', changed_at = ? where id = ?").run(stamp(now), row.id);
    return getRevision(db, row.id);
  });
}
