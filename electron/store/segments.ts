import type { SqliteDatabase } from './database.js';
import { read } from './store-error.js';

/** The shape of a transcript segment as stored, and the reads every other module shares. */

export type SegmentModality = 'audio' | 'video' | 'audio-visual';

export interface StoredSegment {
  readonly id: number;
  readonly mediaId: number;
  /** The run that produced it; undefined for segments a person inserted or imported. */
  readonly runId: number | undefined;
  readonly startSeconds: number;
  readonly endSeconds: number;
  readonly text: string;
  readonly scaleId: string | undefined;
  readonly modality: SegmentModality | undefined;
  readonly confidence: number | undefined;
  readonly videoMissing: string | undefined;
  /** Touched by a person: a re-run keeps it unless told to overwrite edits. */
  readonly edited: boolean;
  readonly deleted: boolean;
}

export interface SegmentRow {
  id: number;
  media_id: number;
  run_id: number | null;
  start_seconds: number;
  end_seconds: number;
  text: string;
  scale_id: string | null;
  modality: SegmentModality | null;
  confidence: number | null;
  video_missing: string | null;
  edited: number;
  deleted: number;
}

export function toSegment(row: SegmentRow): StoredSegment {
  return {
    id: row.id,
    mediaId: row.media_id,
    runId: row.run_id ?? undefined,
    startSeconds: row.start_seconds,
    endSeconds: row.end_seconds,
    text: row.text,
    scaleId: row.scale_id ?? undefined,
    modality: row.modality ?? undefined,
    confidence: row.confidence ?? undefined,
    videoMissing: row.video_missing ?? undefined,
    edited: row.edited === 1,
    deleted: row.deleted === 1,
  };
}

/** The transcript as the user sees it: live segments in time order. */
export function transcriptSegments(db: SqliteDatabase, mediaId: number): StoredSegment[] {
  return read(db, () =>
    (db.prepare('select * from segments where media_id = ? and deleted = 0 order by start_seconds, id').all(mediaId) as SegmentRow[]).map(toSegment),
  );
}

export function getSegment(db: SqliteDatabase, segmentId: number): StoredSegment | undefined {
  const row = read(db, () => db.prepare('select * from segments where id = ?').get(segmentId) as SegmentRow | undefined);
  return row && toSegment(row);
}
