import { stamp } from './clock.js';
import type { SqliteDatabase } from './database.js';
import { getMedia } from './library.js';
import type { SegmentModality } from './segments.js';
import { read, StoreError, writeTransaction } from './store-error.js';

/**
 * Runs: one pass of the recognizer over one media file, with the bundle, device and policy it
 * used. Segments are committed chunk by chunk together with how far the run has got
 * (`committedSeconds`), in one transaction, so after a crash the run resumes from exactly there.
 */

export type RunState = 'running' | 'finished' | 'failed' | 'cancelled' | 'superseded';

export interface RunSettings {
  readonly bundleId: string;
  readonly device: string;
  /** Scale mode, decoding, lip reading: whatever decides the output, as JSON-able data. */
  readonly policy: Readonly<Record<string, unknown>>;
  /** Replace segments a person edited, too (asked for explicitly). */
  readonly overwriteEdits?: boolean;
}

export interface Run {
  readonly id: number;
  readonly mediaId: number;
  readonly contentHash: string;
  readonly bundleId: string;
  readonly device: string;
  readonly policy: Readonly<Record<string, unknown>>;
  readonly overwriteEdits: boolean;
  readonly committedSeconds: number;
  readonly state: RunState;
  readonly startedAt: string;
  readonly finishedAt: string | undefined;
}

interface RunRow {
  id: number;
  media_id: number;
  content_hash: string;
  bundle_id: string;
  device: string;
  policy: string;
  overwrite_edits: number;
  committed_seconds: number;
  state: RunState;
  started_at: string;
  finished_at: string | null;
}

function toRun(row: RunRow): Run {
  return {
    id: row.id,
    mediaId: row.media_id,
    contentHash: row.content_hash,
    bundleId: row.bundle_id,
    device: row.device,
    policy: JSON.parse(row.policy) as Record<string, unknown>,
    overwriteEdits: row.overwrite_edits === 1,
    committedSeconds: row.committed_seconds,
    state: row.state,
    startedAt: row.started_at,
    finishedAt: row.finished_at ?? undefined,
  };
}

export function getRun(db: SqliteDatabase, runId: number): Run {
  const row = read(db, () => db.prepare('select * from runs where id = ?').get(runId) as RunRow | undefined);
  if (row === undefined) throw new StoreError('not-found', `Run ${runId} does not exist.`);
  return toRun(row);
}

export function runsOf(db: SqliteDatabase, mediaId: number): Run[] {
  return read(db, () => (db.prepare('select * from runs where media_id = ? order by id').all(mediaId) as RunRow[]).map(toRun));
}

/** Runs still marked running whose policy has `flag` set (live sessions a crash left open). */
export function runningRunsFlagged(db: SqliteDatabase, flag: string): Run[] {
  if (!/^[a-zA-Z]+$/.test(flag)) throw new RangeError(`policy flags are plain words, got "${flag}"`);
  return read(db, () =>
    (db.prepare(`select * from runs where state = 'running' and json_extract(policy, '$.${flag}') = 1 order by id`).all() as RunRow[]).map(toRun),
  );
}

export function startRun(db: SqliteDatabase, mediaId: number, settings: RunSettings, now?: () => Date): Run {
  return writeTransaction(db, () => {
    const media = getMedia(db, mediaId);
    const { lastInsertRowid } = db
      .prepare(
        `insert into runs (media_id, content_hash, bundle_id, device, policy, overwrite_edits, state, started_at)
         values (?, ?, ?, ?, ?, ?, 'running', ?)`,
      )
      .run(mediaId, media.contentHash, settings.bundleId, settings.device, JSON.stringify(settings.policy), settings.overwriteEdits ? 1 : 0, stamp(now));
    return getRun(db, Number(lastInsertRowid));
  });
}

/** Marks an interrupted or failed run as running again, keeping what it committed. */
export function reopenRun(db: SqliteDatabase, runId: number): Run {
  return writeTransaction(db, () => {
    db.prepare("update runs set state = 'running', finished_at = null where id = ?").run(runId);
    return getRun(db, runId);
  });
}

export interface NewSegment {
  readonly startSeconds: number;
  readonly endSeconds: number;
  readonly text: string;
  readonly scaleId?: string;
  readonly modality?: SegmentModality;
  readonly confidence?: number;
  readonly videoMissing?: string;
  /** Why the scale was chosen for this segment's chunk (the monitor's reason). */
  readonly scaleReason?: string;
}

export interface StoredScaleDecision {
  readonly fromSeconds: number;
  readonly scaleId: string;
  readonly reason: string;
  readonly decidedAt: string;
}

export interface CommitResult {
  readonly inserted: number;
  /** Already committed before a crash and produced again on resume. */
  readonly alreadyCommitted: number;
  /** Overlapping a segment a person edited, which wins. */
  readonly keptEdits: number;
  readonly committedSeconds: number;
}

/**
 * Commits a chunk of a run's output. In one transaction: segments the run had already
 * committed are skipped (a resumed run may produce them again), output of earlier runs that
 * nobody edited is replaced over the same stretch of time, segments overlapping a person's edit
 * are left out (unless the run overwrites edits), and the run's resume point moves on.
 */
export function commitSegments(db: SqliteDatabase, runId: number, segments: readonly NewSegment[], throughSeconds?: number): CommitResult {
  return writeTransaction(db, () => {
    const run = getRun(db, runId);
    if (run.state !== 'running') throw new StoreError('invalid-edit', `Run ${runId} is ${run.state}; it takes no more segments.`);
    const from = run.committedSeconds;
    const fresh = segments.filter((segment) => segment.startSeconds >= from);
    const alreadyCommitted = segments.length - fresh.length;
    const to = Math.max(from, throughSeconds ?? 0, ...fresh.map((segment) => segment.endSeconds));
    replaceEarlierOutput(db, run, from, to);
    const overlapsEdit = db.prepare('select 1 from segments where media_id = ? and edited = 1 and start_seconds < ? and end_seconds > ? limit 1');
    const sameStart = db.prepare('select 1 from segments where run_id = ? and start_seconds = ? limit 1');
    const insert = db.prepare(
      `insert into segments (media_id, run_id, start_seconds, end_seconds, text, scale_id, modality, confidence, video_missing)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    let inserted = 0;
    let keptEdits = 0;
    let duplicates = alreadyCommitted;
    for (const segment of fresh) {
      if (sameStart.get(runId, segment.startSeconds) !== undefined) {
        duplicates += 1;
        continue;
      }
      if (!run.overwriteEdits && overlapsEdit.get(run.mediaId, segment.endSeconds, segment.startSeconds) !== undefined) {
        keptEdits += 1;
        continue;
      }
      insert.run(run.mediaId, runId, segment.startSeconds, segment.endSeconds, segment.text, segment.scaleId ?? null, segment.modality ?? null, segment.confidence ?? null, segment.videoMissing ?? null);
      if (segment.scaleId !== undefined) recordScaleChange(db, runId, segment.startSeconds, segment.scaleId, segment.scaleReason ?? 'not recorded');
      inserted += 1;
    }
    db.prepare('update runs set committed_seconds = ? where id = ?').run(to, runId);
    return { inserted, alreadyCommitted: duplicates, keptEdits, committedSeconds: to };
  });
}

/** A decision is stored when the scale changes, so the log stays as short as the story it tells. */
function recordScaleChange(db: SqliteDatabase, runId: number, fromSeconds: number, scaleId: string, reason: string): void {
  const last = db.prepare('select scale_id from scale_decisions where run_id = ? order by from_seconds desc, id desc limit 1').get(runId) as
    | { scale_id: string }
    | undefined;
  if (last?.scale_id === scaleId) return;
  db.prepare('insert into scale_decisions (run_id, from_seconds, scale_id, reason, decided_at) values (?, ?, ?, ?, ?)').run(runId, fromSeconds, scaleId, reason, stamp());
}

/** The scales a run used, in media order, each with the reason it was chosen. */
export function scaleDecisionsOf(db: SqliteDatabase, runId: number): StoredScaleDecision[] {
  const rows = read(db, () =>
    db.prepare('select from_seconds, scale_id, reason, decided_at from scale_decisions where run_id = ? order by from_seconds, id').all(runId),
  ) as { from_seconds: number; scale_id: string; reason: string; decided_at: string }[];
  return rows.map((row) => ({ fromSeconds: row.from_seconds, scaleId: row.scale_id, reason: row.reason, decidedAt: row.decided_at }));
}

function replaceEarlierOutput(db: SqliteDatabase, run: Run, from: number, to: number): void {
  if (to <= from) return;
  db.prepare(
    `delete from segments where media_id = ? and (run_id is null or run_id <> ?) and start_seconds >= ? and start_seconds < ?
     and (edited = 0 or ? = 1)`,
  ).run(run.mediaId, run.id, from, to, run.overwriteEdits ? 1 : 0);
}

/** The run reached the end of the media: earlier output after its last segment goes too. */
export function finishRun(db: SqliteDatabase, runId: number, now?: () => Date): Run {
  return writeTransaction(db, () => {
    const run = getRun(db, runId);
    replaceEarlierOutput(db, run, run.committedSeconds, Number.MAX_VALUE);
    db.prepare("update runs set state = 'superseded' where media_id = ? and id <> ? and state = 'finished'").run(run.mediaId, runId);
    db.prepare("update runs set state = 'finished', finished_at = ? where id = ?").run(stamp(now), runId);
    return getRun(db, runId);
  });
}

export function endRun(db: SqliteDatabase, runId: number, state: 'failed' | 'cancelled', now?: () => Date): void {
  writeTransaction(db, () => db.prepare('update runs set state = ?, finished_at = ? where id = ?').run(state, stamp(now), runId));
}
