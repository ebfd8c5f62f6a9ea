import type { SqliteDatabase } from './database.js';
import { read } from './store-error.js';

/** Full-text search over every transcript (SQLite FTS5), answering where in which media to jump. */

export interface SearchHit {
  readonly segmentId: number;
  readonly mediaId: number;
  readonly mediaPath: string;
  /** Where the player should jump to. */
  readonly startSeconds: number;
  readonly endSeconds: number;
  readonly text: string;
  /** The text with the matched words wrapped in [ and ]. */
  readonly snippet: string;
}

/**
 * What a person types, as an FTS5 query: each word must appear, the last one may be a prefix
 * (search as you type). Quoting every word keeps FTS syntax (AND, NEAR, quotes, "-") inert.
 */
export function ftsQuery(text: string): string | undefined {
  const words = text.normalize('NFC').match(/[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*/gu) ?? [];
  if (words.length === 0) return undefined;
  return words.map((word, index) => `"${word.replace(/"/g, '""')}"${index === words.length - 1 ? '*' : ''}`).join(' ');
}

export function searchTranscripts(db: SqliteDatabase, text: string, options: { libraryId?: number; mediaId?: number; limit?: number } = {}): SearchHit[] {
  const query = ftsQuery(text);
  if (query === undefined) return [];
  return read(db, () =>
    db
      .prepare(
        `select s.id as segmentId, s.media_id as mediaId, m.path as mediaPath, s.start_seconds as startSeconds, s.end_seconds as endSeconds,
                s.text as text, snippet(segments_fts, 0, '[', ']', '…', 16) as snippet
         from segments_fts join segments s on s.id = segments_fts.rowid join media m on m.id = s.media_id
         where segments_fts match ? and s.deleted = 0 and (? is null or m.library_id = ?) and (? is null or s.media_id = ?)
         order by rank, s.media_id, s.start_seconds limit ?`,
      )
      .all(query, options.libraryId ?? null, options.libraryId ?? null, options.mediaId ?? null, options.mediaId ?? null, options.limit ?? 100) as SearchHit[],
  );
}
