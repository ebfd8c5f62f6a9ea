import type { SqliteDatabase } from './database.js';
import type { Media } from './library.js';
import { getMedia } from './library.js';
import type { JobState } from './jobs.js';
import { read } from './store-error.js';

/** One read of everything the library view shows per media file, in a single query. */

export interface MediaOverview {
  readonly media: Media;
  readonly jobState: JobState | undefined;
  readonly jobError: string | undefined;
  readonly segments: number;
  readonly scaleIds: readonly string[];
  /** Recorded by live captions. */
  readonly live: boolean;
}

interface OverviewRow {
  id: number;
  job_state: JobState | null;
  job_error: string | null;
  segment_count: number;
  scale_ids: string | null;
  live: number;
}

export function mediaOverview(db: SqliteDatabase, mediaIds?: readonly number[]): MediaOverview[] {
  return read(db, () => {
    const rows = db
      .prepare(
        `select m.id as id,
                (select state from jobs j where j.media_id = m.id order by j.id desc limit 1) as job_state,
                (select error_message from jobs j where j.media_id = m.id order by j.id desc limit 1) as job_error,
                (select count(*) from segments s where s.media_id = m.id and s.deleted = 0) as segment_count,
                (select group_concat(scale_id) from (select distinct scale_id from segments s
                   where s.media_id = m.id and s.deleted = 0 and s.scale_id is not null order by scale_id)) as scale_ids,
                exists(select 1 from runs r where r.media_id = m.id and json_extract(r.policy, '$.live') = 1) as live
         from media m order by m.library_id is null, m.path`,
      )
      .all() as OverviewRow[];
    const wanted = mediaIds === undefined ? undefined : new Set(mediaIds);
    return rows
      .filter((row) => wanted === undefined || wanted.has(row.id))
      .map((row) => ({
        media: getMedia(db, row.id),
        jobState: row.job_state ?? undefined,
        jobError: row.job_error ?? undefined,
        segments: row.segment_count,
        scaleIds: row.scale_ids === null ? [] : row.scale_ids.split(','),
        live: row.live === 1,
      }));
  });
}
