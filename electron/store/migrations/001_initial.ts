/**
 * The first schema. Times are seconds of the media (REAL); wall-clock stamps are ISO-8601 text.
 * Segments are soft-deleted by the user (a tombstone keeps a re-run from bringing them back)
 * and hard-deleted only when a re-run replaces output nobody edited.
 */
export const migration001 = {
  version: 1,
  name: 'initial',
  sql: `
create table libraries (
  id integer primary key,
  name text not null,
  created_at text not null
);

create table folders (
  id integer primary key,
  library_id integer not null references libraries(id) on delete cascade,
  path text not null,
  recursive integer not null default 1,
  watched integer not null default 0,
  extensions text,
  added_at text not null,
  unique (library_id, path)
);

create table media (
  id integer primary key,
  library_id integer references libraries(id) on delete cascade,
  folder_id integer references folders(id) on delete set null,
  path text not null,
  content_hash text not null,
  size_bytes integer not null,
  modified_ms real not null,
  duration_seconds real,
  container text,
  audio_stream text,
  video_stream text,
  probe_error text,
  missing_since text,
  added_at text not null,
  unique (library_id, path)
);
create index media_by_hash on media(library_id, content_hash);

create table runs (
  id integer primary key,
  media_id integer not null references media(id) on delete cascade,
  content_hash text not null,
  bundle_id text not null,
  device text not null,
  policy text not null,
  overwrite_edits integer not null default 0,
  committed_seconds real not null default 0,
  state text not null check (state in ('running', 'finished', 'failed', 'cancelled', 'superseded')),
  started_at text not null,
  finished_at text
);
create index runs_by_media on runs(media_id);

create table segments (
  id integer primary key,
  media_id integer not null references media(id) on delete cascade,
  run_id integer references runs(id) on delete set null,
  start_seconds real not null check (start_seconds >= 0),
  end_seconds real not null check (end_seconds >= start_seconds),
  text text not null,
  scale_id text,
  modality text check (modality in ('audio', 'video', 'audio-visual')),
  confidence real,
  video_missing text,
  edited integer not null default 0,
  deleted integer not null default 0
);
create index segments_by_media_time on segments(media_id, start_seconds);
create index segments_by_run_start on segments(run_id, start_seconds);

create virtual table segments_fts using fts5(text, content = 'segments', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2');
create trigger segments_fts_insert after insert on segments begin
  insert into segments_fts(rowid, text) values (new.id, new.text);
end;
create trigger segments_fts_delete after delete on segments begin
  insert into segments_fts(segments_fts, rowid, text) values ('delete', old.id, old.text);
end;
create trigger segments_fts_update after update of text on segments begin
  insert into segments_fts(segments_fts, rowid, text) values ('delete', old.id, old.text);
  insert into segments_fts(rowid, text) values (new.id, new.text);
end;

create table revisions (
  id integer primary key,
  media_id integer not null references media(id) on delete cascade,
  kind text not null,
  before text not null,
  after text not null,
  state text not null default 'applied' check (state in ('applied', 'undone', 'discarded')),
  created_at text not null,
  changed_at text
);
create index revisions_by_media on revisions(media_id, state, id);

create table jobs (
  id integer primary key,
  media_id integer not null references media(id) on delete cascade,
  run_id integer references runs(id) on delete set null,
  state text not null check (state in ('queued', 'running', 'paused', 'finished', 'failed', 'cancelled')),
  priority integer not null default 0,
  overwrite_edits integer not null default 0,
  processed_seconds real not null default 0,
  duration_seconds real,
  attempts integer not null default 0,
  error_kind text,
  error_message text,
  created_at text not null,
  updated_at text not null
);
create index jobs_by_state on jobs(state, priority desc, id);
create index jobs_by_media on jobs(media_id);

create table job_attempts (
  id integer primary key,
  job_id integer not null references jobs(id) on delete cascade,
  attempt integer not null,
  started_at text not null,
  ended_at text,
  outcome text,
  error_kind text,
  error_message text
);
`,
} as const;
