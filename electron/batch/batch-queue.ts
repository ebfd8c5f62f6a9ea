import { MediaError } from '../media/media-error.js';
import type { SqliteDatabase } from '../store/database.js';
import {
  attemptsOf,
  beginAttempt,
  endAttempt,
  enqueueJob,
  getJob,
  listJobs,
  queuedJobs,
  recordProgress,
  requeueInterruptedJobs,
  setJobPriority,
  setJobState,
  type Job,
  type JobState,
} from '../store/jobs.js';
import { getMedia, markMediaMissing } from '../store/library.js';
import { commitSegments, endRun, finishRun, getRun, reopenRun, startRun, type NewSegment, type Run, type RunSettings } from '../store/runs.js';
import { StoreError, writeTransaction } from '../store/store-error.js';

/**
 * The batch queue: jobs from the store run through an injected captioner, a few at a time,
 * highest priority first. Every segment is committed as it arrives together with the run's
 * resume point, so a crash, a kill or a pause loses at most the phrase in progress; on the next
 * start a job resumes from its last committed point.
 */

export interface CaptionRequest {
  readonly path: string;
  /** Everything before this is already committed; output before it is dropped by the store anyway. */
  readonly resumeFromSeconds: number;
  readonly signal: AbortSignal;
  readonly onProgress: (processedSeconds: number, durationSeconds: number | undefined) => void;
  readonly onSegment: (segment: NewSegment) => Promise<void> | void;
}

export interface CaptionOutcome {
  readonly processedSeconds: number;
  readonly durationSeconds: number | undefined;
}

export type Captioner = (request: CaptionRequest) => Promise<CaptionOutcome>;

export type JobCounts = Readonly<Record<JobState, number>>;

export type BatchEvent =
  | { readonly type: 'job'; readonly job: Job }
  | {
      readonly type: 'file-progress';
      readonly jobId: number;
      readonly mediaId: number;
      readonly path: string;
      readonly processedSeconds: number;
      readonly durationSeconds: number | undefined;
      /** 0–1, or undefined when the duration is unknown. */
      readonly fraction: number | undefined;
    }
  | {
      readonly type: 'overall';
      readonly processedSeconds: number;
      readonly totalSeconds: number;
      readonly fraction: number;
      /** Undefined until there is a rate to go by. */
      readonly etaSeconds: number | undefined;
      readonly counts: JobCounts;
    }
  | { readonly type: 'segment'; readonly jobId: number; readonly mediaId: number; readonly inserted: number; readonly committedSeconds: number }
  /**
   * The store could not record the outcome (locked by another program, disk full): the queue
   * pauses itself rather than spin; resume() continues every job from its last commit.
   */
  | { readonly type: 'stalled'; readonly jobId: number; readonly errorKind: string; readonly message: string };

export interface BatchQueueOptions {
  readonly db: SqliteDatabase;
  readonly captioner: Captioner;
  /**
   * What every run records: bundle, device and policy. A function is asked as each run starts,
   * so the run records the device and mode actually in use then (it may load the engine).
   */
  readonly run: RunSettings | (() => Promise<RunSettings>);
  readonly concurrency?: number;
  readonly onEvent?: (event: BatchEvent) => void;
  /** Milliseconds between overall-progress events; per-file events are not throttled. */
  readonly overallIntervalMs?: number;
  readonly now?: () => Date;
  /** Monotonic milliseconds, for rates and ETAs. */
  readonly clock?: () => number;
}

type StopIntent = 'pause' | 'cancel' | 'requeue';

interface Active {
  readonly mediaId: number;
  readonly controller: AbortController;
  intent: StopIntent | undefined;
  processedSeconds: number;
  durationSeconds: number | undefined;
  readonly done: Promise<void>;
}

/** Which kind of failure a job ended with; the message is the error's own. */
function classify(error: unknown): { errorKind: string; errorMessage: string } {
  if (error instanceof MediaError) return { errorKind: error.kind, errorMessage: error.message };
  if (error instanceof StoreError) return { errorKind: `store-${error.kind}`, errorMessage: error.message };
  return { errorKind: 'unexpected', errorMessage: error instanceof Error ? error.message : String(error) };
}

export class BatchQueue {
  readonly #options: BatchQueueOptions;
  readonly #db: SqliteDatabase;
  readonly #active = new Map<number, Active>();
  readonly #clock: () => number;
  #concurrency: number;
  #started = false;
  #paused = false;
  #lastOverall = -Infinity;
  /** Media seconds processed and wall time spent while jobs ran, for the ETA. */
  #rateSeconds = 0;
  #rateSince: number | undefined;
  #idleWaiters: (() => void)[] = [];

  constructor(options: BatchQueueOptions) {
    this.#options = options;
    this.#db = options.db;
    this.#concurrency = Math.max(1, options.concurrency ?? 1);
    this.#clock = options.clock ?? (() => performance.now());
  }

  /** Starts working: jobs left running by a crash go back in the queue and resume. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    requeueInterruptedJobs(this.#db, [], this.#options.now);
    this.#schedule();
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** Stops starting jobs and pauses running ones; they continue from where they were on resume(). */
  pause(): void {
    this.#paused = true;
    for (const active of this.#active.values()) this.#abort(active, 'requeue');
  }

  resume(): void {
    this.#paused = false;
    // Jobs a stall left marked running in the store (none of ours is active) go back in line.
    if (this.#started) requeueInterruptedJobs(this.#db, [...this.#active.keys()], this.#options.now);
    this.#schedule();
  }

  setConcurrency(concurrency: number): void {
    this.#concurrency = Math.max(1, Math.floor(concurrency));
    this.#schedule();
  }

  enqueue(mediaId: number, options: { priority?: number; overwriteEdits?: boolean } = {}): Job {
    const job = enqueueJob(this.#db, mediaId, { ...options, durationSeconds: getMedia(this.#db, mediaId).durationSeconds }, this.#options.now);
    this.#emit({ type: 'job', job });
    this.#schedule();
    return job;
  }

  /** Jobs were added to the store by someone else (a folder scan): look for work. */
  poke(): void {
    this.#schedule();
  }

  pauseJob(jobId: number): Job {
    const active = this.#active.get(jobId);
    if (active) this.#abort(active, 'pause');
    else if (getJob(this.#db, jobId).state === 'queued') this.#emitJob(setJobState(this.#db, jobId, 'paused', this.#options.now));
    return getJob(this.#db, jobId);
  }

  resumeJob(jobId: number): Job {
    const job = getJob(this.#db, jobId);
    if (job.state === 'paused') this.#emitJob(setJobState(this.#db, jobId, 'queued', this.#options.now));
    this.#schedule();
    return getJob(this.#db, jobId);
  }

  /** Cancels a job; segments it already committed stay in the transcript. */
  cancelJob(jobId: number): Job {
    const active = this.#active.get(jobId);
    if (active) this.#abort(active, 'cancel');
    else if (['queued', 'paused'].includes(getJob(this.#db, jobId).state)) this.#emitJob(setJobState(this.#db, jobId, 'cancelled', this.#options.now));
    return getJob(this.#db, jobId);
  }

  /** Tries a failed or cancelled job again, from where it stopped; the last error stays visible. */
  retryJob(jobId: number): Job {
    const job = getJob(this.#db, jobId);
    if (job.state !== 'failed' && job.state !== 'cancelled') {
      throw new StoreError('invalid-edit', `Job ${jobId} is ${job.state}; only failed or cancelled jobs can be retried.`);
    }
    this.#emitJob(setJobState(this.#db, jobId, 'queued', this.#options.now));
    this.#schedule();
    return getJob(this.#db, jobId);
  }

  setPriority(jobId: number, priority: number): Job {
    const job = setJobPriority(this.#db, jobId, priority, this.#options.now);
    this.#emitJob(job);
    this.#schedule();
    return job;
  }

  attempts(jobId: number) {
    return attemptsOf(this.#db, jobId);
  }

  /** Resolves when nothing is running and nothing runnable is queued (or the queue is paused). */
  whenIdle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops work for shutdown: running jobs go back to the queue, resumable at the next start. */
  async stop(): Promise<void> {
    this.#paused = true;
    const running = [...this.#active.values()];
    for (const active of running) this.#abort(active, 'requeue');
    await Promise.all(running.map((active) => active.done));
    this.#started = false;
  }

  #isIdle(): boolean {
    return this.#active.size === 0 && (this.#paused || !this.#started || queuedJobs(this.#db, 1).length === 0);
  }

  #abort(active: Active, intent: StopIntent): void {
    active.intent ??= intent;
    active.controller.abort(new Error(`job ${intent}`));
  }

  #emit(event: BatchEvent): void {
    this.#options.onEvent?.(event);
  }

  #emitJob(job: Job): void {
    this.#emit({ type: 'job', job });
    this.#emitOverall(true);
  }

  #schedule(): void {
    if (!this.#started) return;
    if (!this.#paused) {
      const free = this.#concurrency - this.#active.size;
      if (free > 0) {
        // Two runs over the same media at once would fight over its transcript: one waits.
        const busyMedia = [...this.#active.values()].map((active) => active.mediaId);
        for (const job of queuedJobs(this.#db, free, { exceptMedia: busyMedia })) {
          if (busyMedia.includes(job.mediaId)) continue; // two queued jobs for one media: one at a time
          busyMedia.push(job.mediaId);
          this.#launch(job);
        }
      }
    }
    if (this.#isIdle()) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  #launch(job: Job): void {
    const controller = new AbortController();
    let settle!: () => void;
    const done = new Promise<void>((resolve) => (settle = resolve));
    const active: Active = { mediaId: job.mediaId, controller, intent: undefined, processedSeconds: 0, durationSeconds: job.durationSeconds, done };
    this.#active.set(job.id, active);
    this.#rateSince ??= this.#clock();
    void this.#run(job, active)
      .catch((error: unknown) => {
        const { errorKind, errorMessage } = classify(error);
        this.#paused = true;
        this.#emit({ type: 'stalled', jobId: job.id, errorKind, message: errorMessage });
      })
      .finally(() => {
        this.#active.delete(job.id);
        if (this.#active.size === 0) {
          // Idle time does not count towards the rate.
          this.#rateSince = undefined;
          this.#rateSeconds = 0;
        }
        settle();
        this.#schedule();
      });
  }

  /** The run to continue: the job's own if it covers the current content, else a new one. */
  #runFor(job: Job, settings: RunSettings): Run {
    const media = getMedia(this.#db, job.mediaId);
    if (job.runId !== undefined) {
      const previous = getRun(this.#db, job.runId);
      if (previous.contentHash === media.contentHash && previous.state !== 'finished' && previous.state !== 'superseded') {
        return previous.state === 'running' ? previous : reopenRun(this.#db, previous.id);
      }
    }
    return startRun(this.#db, job.mediaId, { ...settings, overwriteEdits: job.overwriteEdits }, this.#options.now);
  }

  async #run(queued: Job, active: Active): Promise<void> {
    const now = this.#options.now;
    let run: Run;
    let job: Job;
    try {
      const settings = typeof this.#options.run === 'function' ? await this.#options.run() : this.#options.run;
      run = this.#runFor(queued, settings);
      job = beginAttempt(this.#db, queued.id, run.id, now);
    } catch (error) {
      this.#emitJob(endAttempt(this.#db, queued.id, { state: 'failed', ...classify(error) }, now));
      return;
    }
    this.#emitJob(job);
    let lastProcessed = 0;
    try {
      const outcome = await this.#options.captioner({
        path: job.mediaPath,
        resumeFromSeconds: run.committedSeconds,
        signal: active.controller.signal,
        onProgress: (processedSeconds, durationSeconds) => {
          this.#rateSeconds += Math.max(0, processedSeconds - lastProcessed);
          lastProcessed = processedSeconds;
          active.processedSeconds = processedSeconds;
          active.durationSeconds = durationSeconds ?? active.durationSeconds;
          this.#emit({
            type: 'file-progress',
            jobId: job.id,
            mediaId: job.mediaId,
            path: job.mediaPath,
            processedSeconds,
            durationSeconds: active.durationSeconds,
            fraction: active.durationSeconds ? Math.min(1, processedSeconds / active.durationSeconds) : undefined,
          });
          this.#emitOverall(false);
        },
        onSegment: (segment) => {
          // One transaction, one sync: the segment, the run's resume point and the job's progress.
          const result = writeTransaction(this.#db, () => {
            const committed = commitSegments(this.#db, run.id, [segment]);
            recordProgress(this.#db, job.id, committed.committedSeconds, active.durationSeconds);
            return committed;
          });
          this.#emit({ type: 'segment', jobId: job.id, mediaId: job.mediaId, inserted: result.inserted, committedSeconds: result.committedSeconds });
        },
      });
      finishRun(this.#db, run.id, now);
      recordProgress(this.#db, job.id, outcome.processedSeconds, outcome.durationSeconds);
      this.#emitJob(endAttempt(this.#db, job.id, { state: 'finished' }, now));
    } catch (error) {
      if (active.intent !== undefined) {
        const state = active.intent === 'pause' ? 'paused' : active.intent === 'cancel' ? 'cancelled' : 'queued';
        if (state === 'cancelled') endRun(this.#db, run.id, 'cancelled', now);
        this.#emitJob(endAttempt(this.#db, job.id, { state }, now));
        return;
      }
      // The store itself failing is not the media's fault: stall (see 'stalled'), fail nothing.
      if (error instanceof StoreError && (error.kind === 'locked' || error.kind === 'disk-full' || error.kind === 'read-only')) throw error;
      const failure = classify(error);
      if (error instanceof MediaError && error.kind === 'not-found') markMediaMissing(this.#db, job.mediaId, now);
      endRun(this.#db, run.id, 'failed', now);
      this.#emitJob(endAttempt(this.#db, job.id, { state: 'failed', ...failure }, now));
    }
  }

  /** Overall progress over every job that is not cancelled, with an ETA from the recent rate. */
  #emitOverall(force: boolean): void {
    const at = this.#clock();
    if (!force && at - this.#lastOverall < (this.#options.overallIntervalMs ?? 250)) return;
    this.#lastOverall = at;
    const jobs = listJobs(this.#db);
    const counts: Record<JobState, number> = { queued: 0, running: 0, paused: 0, finished: 0, failed: 0, cancelled: 0 };
    let total = 0;
    let done = 0;
    for (const job of jobs) {
      counts[job.state] += 1;
      if (job.state === 'cancelled') continue;
      const active = this.#active.get(job.id);
      const duration = active?.durationSeconds ?? job.durationSeconds ?? 0;
      total += duration;
      done += job.state === 'finished' || job.state === 'failed' ? duration : Math.min(duration, Math.max(active?.processedSeconds ?? 0, job.processedSeconds));
    }
    const elapsed = this.#rateSince === undefined ? 0 : (at - this.#rateSince) / 1000;
    const rate = elapsed > 0.5 && this.#rateSeconds > 0 ? this.#rateSeconds / elapsed : undefined;
    this.#emit({
      type: 'overall',
      processedSeconds: done,
      totalSeconds: total,
      fraction: total > 0 ? done / total : 0,
      etaSeconds: rate === undefined ? undefined : Math.max(0, total - done) / rate,
      counts,
    });
  }
}
