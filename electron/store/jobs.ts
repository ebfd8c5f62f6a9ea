import { stamp } from './clock.js';
import type { SqliteDatabase } from './database.js';
import { read, StoreError, writeTransaction } from './store-error.js';

/**
 * Captioning jobs. The queue's state lives here, not in memory, so a restart finds every job
 * where it was; `attempts` keeps each try with its outcome and error.
 */

export type JobState = 'queued' | 'running' | 'paused' | 'finished' | 'failed' | 'cancelled';

export interface Job {
  readonly id: number;
  readonly mediaId: number;
  readonly mediaPath: string;
  readonly runId: number | undefined;
  readonly state: JobState;
  readonly priority: number;
  readonly overwriteEdits: boolean;
  readonly processedSeconds: number;
  readonly durationSeconds: number | undefined;
  readonly attempts: number;
  /** The last failure, kept through retries so the user sees why the previous try failed. */
  readonly errorKind: string | undefined;
  readonly errorMessage: string | undefined;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface JobAttempt {
  readonly attempt: number;
  readonly startedAt: string;
  readonly endedAt: string | undefined;
  readonly outcome: string | undefined;
  readonly errorKind: string | undefined;
  readonly errorMessage: string | undefined;
}

interface JobRow {
  id: number;
  media_id: number;
  path: string;
  run_id: number | null;
  state: JobState;
  priority: number;
  overwrite_edits: number;
  processed_seconds: number;
  duration_seconds: number | null;
  attempts: number;
  error_kind: string | null;
  error_message: string | null;
  created_at: string;
  updated_at: string;
}

function toJob(row: JobRow): Job {
  return {
    id: row.id,
    mediaId: row.media_id,
    mediaPath: row.path,
    runId: row.run_id ?? undefined,
    state: row.state,
    priority: row.priority,
    overwriteEdits: row.overwrite_edits === 1,
    processedSeconds: row.processed_seconds,
    durationSeconds: row.duration_seconds ?? undefined,
    attempts: row.attempts,
    errorKind: row.error_kind ?? undefined,
    errorMessage: row.error_message ?? undefined,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const selectJob = 'select jobs.*, media.path from jobs join media on media.id = jobs.media_id';

export function getJob(db: SqliteDatabase, jobId: number): Job {
  const row = read(db, () => db.prepare(`${selectJob} where jobs.id = ?`).get(jobId) as JobRow | undefined);
  if (row === undefined) throw new StoreError('not-found', `Job ${jobId} does not exist.`);
  return toJob(row);
}

export function listJobs(db: SqliteDatabase, options: { libraryId?: number; states?: readonly JobState[] } = {}): Job[] {
  const rows = read(db, () =>
    db.prepare(`${selectJob} where (? is null or media.library_id = ?) order by jobs.priority desc, jobs.id`).all(options.libraryId ?? null, options.libraryId ?? null) as JobRow[],
  );
  return rows.map(toJob).filter((job) => options.states === undefined || options.states.includes(job.state));
}

/**
 * Queues a media file. A job for the same media still waiting (queued or paused) is returned
 * instead of a second one; a running one is not, since the file may have changed under it.
 */
export function enqueueJob(db: SqliteDatabase, mediaId: number, options: { priority?: number; overwriteEdits?: boolean; durationSeconds?: number | undefined } = {}, now?: () => Date): Job {
  return writeTransaction(db, () => {
    const open = db.prepare("select id from jobs where media_id = ? and state in ('queued', 'paused') order by id limit 1").get(mediaId) as { id: number } | undefined;
    if (open) return getJob(db, open.id);
    const at = stamp(now);
    const { lastInsertRowid } = db
      .prepare("insert into jobs (media_id, state, priority, overwrite_edits, duration_seconds, created_at, updated_at) values (?, 'queued', ?, ?, ?, ?, ?)")
      .run(mediaId, options.priority ?? 0, options.overwriteEdits ? 1 : 0, options.durationSeconds ?? null, at, at);
    return getJob(db, Number(lastInsertRowid));
  });
}

/** Queued jobs in the order they should run: highest priority first, then oldest. */
export function queuedJobs(db: SqliteDatabase, limit: number, options: { exceptMedia?: readonly number[] } = {}): Job[] {
  return read(db, () =>
    (db
      .prepare(`${selectJob} where jobs.state = 'queued' and jobs.media_id not in (select value from json_each(?)) order by jobs.priority desc, jobs.id limit ?`)
      .all(JSON.stringify(options.exceptMedia ?? []), limit) as JobRow[]).map(toJob),
  );
}

/** After a crash, jobs that were running are queued again; their runs resume where they stopped. */
export function requeueInterruptedJobs(db: SqliteDatabase, stillRunning: readonly number[] = [], now?: () => Date): number {
  return writeTransaction(db, () =>
    db.prepare("update jobs set state = 'queued', updated_at = ? where state = 'running' and id not in (select value from json_each(?))").run(stamp(now), JSON.stringify(stillRunning)).changes,
  );
}

export function setJobState(db: SqliteDatabase, jobId: number, state: JobState, now?: () => Date): Job {
  return writeTransaction(db, () => {
    db.prepare('update jobs set state = ?, updated_at = ? where id = ?').run(state, stamp(now), jobId);
    return getJob(db, jobId);
  });
}

export function setJobPriority(db: SqliteDatabase, jobId: number, priority: number, now?: () => Date): Job {
  return writeTransaction(db, () => {
    db.prepare('update jobs set priority = ?, updated_at = ? where id = ?').run(priority, stamp(now), jobId);
    return getJob(db, jobId);
  });
}

/** Starts an attempt: the job is running on `runId`. */
export function beginAttempt(db: SqliteDatabase, jobId: number, runId: number, now?: () => Date): Job {
  return writeTransaction(db, () => {
    const at = stamp(now);
    const job = getJob(db, jobId);
    db.prepare("update jobs set state = 'running', run_id = ?, attempts = attempts + 1, updated_at = ? where id = ?").run(runId, at, jobId);
    db.prepare('insert into job_attempts (job_id, attempt, started_at) values (?, ?, ?)').run(jobId, job.attempts + 1, at);
    return getJob(db, jobId);
  });
}

export function recordProgress(db: SqliteDatabase, jobId: number, processedSeconds: number, durationSeconds: number | undefined): void {
  writeTransaction(db, () =>
    db.prepare('update jobs set processed_seconds = max(processed_seconds, ?), duration_seconds = coalesce(?, duration_seconds) where id = ?').run(processedSeconds, durationSeconds ?? null, jobId),
  );
}

/** Ends the current attempt; a failure's kind and message stay on the job until it succeeds. */
export function endAttempt(
  db: SqliteDatabase,
  jobId: number,
  outcome: { state: 'finished' | 'failed' | 'cancelled' | 'paused' | 'queued'; errorKind?: string; errorMessage?: string },
  now?: () => Date,
): Job {
  return writeTransaction(db, () => {
    const at = stamp(now);
    const fields = outcome.state === 'failed' ? ', error_kind = @errorKind, error_message = @errorMessage' : outcome.state === 'finished' ? ', error_kind = null, error_message = null' : '';
    db.prepare(`update jobs set state = @state, updated_at = @at${fields} where id = @jobId`).run({
      state: outcome.state,
      at,
      jobId,
      ...(outcome.state === 'failed' ? { errorKind: outcome.errorKind ?? 'unexpected', errorMessage: outcome.errorMessage ?? '' } : {}),
    });
    db.prepare(
      `update job_attempts set ended_at = ?, outcome = ?, error_kind = ?, error_message = ?
       where id = (select id from job_attempts where job_id = ? and ended_at is null order by id desc limit 1)`,
    ).run(at, outcome.state, outcome.errorKind ?? null, outcome.errorMessage ?? null, jobId);
    return getJob(db, jobId);
  });
}

export function attemptsOf(db: SqliteDatabase, jobId: number): JobAttempt[] {
  return read(db, () =>
    db
      .prepare('select attempt, started_at as startedAt, ended_at as endedAt, outcome, error_kind as errorKind, error_message as errorMessage from job_attempts where job_id = ? order by id')
      .all(jobId) as JobAttempt[],
  ).map((row) => ({
    attempt: row.attempt,
    startedAt: row.startedAt,
    endedAt: row.endedAt ?? undefined,
    outcome: row.outcome ?? undefined,
    errorKind: row.errorKind ?? undefined,
    errorMessage: row.errorMessage ?? undefined,
  }));
}
