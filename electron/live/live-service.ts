import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ScaleDecision } from '../engine/caption-engine.js';
import type { Recognizer } from '../engine/recognizer.js';
import type { VoiceActivityDetector } from '../engine/voice-activity.js';
import {
  decodeLiveFrame,
  fail,
  liveSampleRate,
  ok,
  type EventChannels,
  type LiveCaption,
  type LiveSessionInfo,
  type LiveSessionSummary,
  type LiveStartRequest,
  type LiveStatus,
  type Result,
} from '../ipc/contract.js';
import type { EngineReading } from '../monitor/resource-sample.js';
import type { SqliteDatabase } from '../store/database.js';
import { getMedia, insertMedia, updateMediaFacts } from '../store/library.js';
import { commitSegments, finishRun, runningRunsFlagged, startRun } from '../store/runs.js';
import { LiveCaptioner, type LivePhrase } from './live-captioner.js';
import { repairWavHeader, WavRecorder } from './wav-recorder.js';

/**
 * Live sessions as the app sees them: one meeting at a time, its media arriving as binary
 * frames from whichever transport, captions streamed out as events and every final committed
 * to the store as it is made, with the audio recorded beside it. Closing the app mid-meeting
 * loses at most the phrase being spoken.
 */

export interface LiveEngine {
  readonly recognizer: Recognizer;
  readonly bundleId: string;
  readonly device: string;
  createVad(): Promise<VoiceActivityDetector>;
}

export interface LiveServiceDependencies {
  readonly database: SqliteDatabase;
  readonly recordingsDirectory: string;
  /** Loads the model on first use; the same engine is handed out afterwards. */
  readonly loadEngine: () => Promise<LiveEngine>;
  /** The policy's scale for the next chunk. */
  readonly currentScale: () => ScaleDecision;
  readonly policyDescription: () => Readonly<Record<string, unknown>>;
  readonly reportEngine: (reading: EngineReading) => void;
  readonly emit: <E extends 'live.caption' | 'live.status'>(event: E, payload: EventChannels[E]) => void;
  readonly logger: { warn(message: string, details?: Record<string, unknown>): void; error(message: string, details?: Record<string, unknown>): void };
  readonly statusIntervalMs?: number;
}

interface ActiveSession {
  readonly info: LiveSessionInfo;
  readonly captioner: LiveCaptioner;
  readonly recorder: WavRecorder;
  readonly vad: VoiceActivityDetector;
  readonly camera: boolean;
  readonly statusTimer: NodeJS.Timeout;
  lastFaceSeen: boolean | undefined;
  /** Set once a write to the store or the recording failed; the captions go on regardless. */
  problem: string | undefined;
  lastScaleId: string | undefined;
}

const livePolicyKey = 'live';

export class LiveService {
  readonly #deps: LiveServiceDependencies;
  #session: ActiveSession | undefined;
  #starting = false;

  constructor(dependencies: LiveServiceDependencies) {
    this.#deps = dependencies;
  }

  current(): LiveSessionInfo | null {
    return this.#session?.info ?? null;
  }

  async start(request: LiveStartRequest): Promise<Result<LiveSessionInfo>> {
    if (this.#session || this.#starting) {
      return fail('unavailable', `a live session is already running${this.#session ? ` (session ${this.#session.info.sessionId})` : ''}; stop it first`);
    }
    this.#starting = true;
    try {
      let engine: LiveEngine;
      try {
        engine = await this.#deps.loadEngine();
      } catch (error) {
        return fail('unavailable', `the recognizer could not load: ${error instanceof Error ? error.message : String(error)}`);
      }
      const { manifest } = engine.recognizer.bundle;
      mkdirSync(this.#deps.recordingsDirectory, { recursive: true });
      const startedAt = new Date();
      const recordingPath = join(this.#deps.recordingsDirectory, `live-${startedAt.toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}.wav`);
      const recorder = await WavRecorder.create(recordingPath, liveSampleRate);
      const media = insertMedia(this.#deps.database, {}, {
        path: recordingPath,
        contentHash: `live-${randomUUID()}`,
        sizeBytes: 0,
        modifiedMs: startedAt.getTime(),
        container: 'wav',
        audio: { codec: 'pcm_s16le', source: request.audioSource, device: request.deviceLabel },
      });
      const run = startRun(this.#deps.database, media.id, {
        bundleId: engine.bundleId,
        device: engine.device,
        policy: { [livePolicyKey]: true, audioSource: request.audioSource, camera: request.camera, ...this.#deps.policyDescription() },
      });
      const info: LiveSessionInfo = {
        sessionId: run.id,
        mediaId: media.id,
        startedAt: startedAt.toISOString(),
        sampleRate: liveSampleRate,
        roi: { width: manifest.roi.width, height: manifest.roi.height },
        scaleIds: manifest.scales.map((scale) => scale.id),
        recordingPath,
      };
      const vad = await engine.createVad();
      const captioner = new LiveCaptioner({
        recognizer: engine.recognizer,
        vad,
        useVideo: request.camera,
        chooseScale: () => this.#deps.currentScale(),
        onPartial: (phrase) => this.#deps.emit('live.caption', toCaption(info.sessionId, phrase)),
        onFinal: (phrase, decision) => {
          this.#commit(session, phrase, decision);
          this.#deps.emit('live.caption', toCaption(info.sessionId, phrase));
        },
        onError: (error) => this.#deps.logger.error('a live chunk failed to caption', { sessionId: info.sessionId, error: error instanceof Error ? error.stack : String(error) }),
      });
      const statusTimer = setInterval(() => this.#reportStatus(), this.#deps.statusIntervalMs ?? 250);
      statusTimer.unref();
      const session: ActiveSession = { info, captioner, recorder, vad, camera: request.camera, statusTimer, lastFaceSeen: undefined, problem: undefined, lastScaleId: undefined };
      this.#session = session;
      return ok(info);
    } finally {
      this.#starting = false;
    }
  }

  /** One binary frame from a transport. Frames for another session are refused, not guessed at. */
  acceptFrame(data: ArrayBuffer | ArrayBufferView): Result<void> {
    const decoded = decodeLiveFrame(data);
    if (!decoded.ok) return decoded;
    const frame = decoded.value;
    const session = this.#session;
    if (!session || session.info.sessionId !== frame.sessionId) {
      return fail('not-found', `no live session ${frame.sessionId} is running`);
    }
    if (frame.kind === 'audio') {
      session.recorder.write(frame.startSample, frame.samples);
      session.captioner.pushAudio(frame.startSample, frame.samples);
      return ok(undefined);
    }
    if (!session.camera) return fail('invalid-request', 'this session was started without the camera');
    const { roi } = frame;
    if (roi && (roi.width !== session.info.roi.width || roi.height !== session.info.roi.height)) {
      return fail('invalid-request', `mouth crops must be ${session.info.roi.width}×${session.info.roi.height}, got ${roi.width}×${roi.height}`, 'roi');
    }
    session.lastFaceSeen = roi !== undefined;
    session.captioner.pushMouthFrame(frame.timeMs / 1000, roi?.pixels);
    return ok(undefined);
  }

  async stop(sessionId: number): Promise<Result<LiveSessionSummary>> {
    const session = this.#session;
    if (!session || session.info.sessionId !== sessionId) return fail('not-found', `no live session ${sessionId} is running`);
    this.#session = undefined;
    clearInterval(session.statusTimer);
    const statistics = await session.captioner.stop();
    const recordingFailure = await session.recorder.close();
    if (recordingFailure) session.problem ??= `the recording stopped: ${recordingFailure.message}`;
    await session.vad.release();
    const { database } = this.#deps;
    try {
      finishRun(database, sessionId);
      updateMediaFacts(database, session.info.mediaId, {
        path: session.info.recordingPath,
        contentHash: `live-run-${sessionId}`,
        sizeBytes: session.recorder.sizeBytes,
        modifiedMs: Date.now(),
        durationSeconds: session.recorder.durationSeconds,
        container: 'wav',
        audio: { codec: 'pcm_s16le' },
      });
    } catch (error) {
      session.problem ??= `the session could not be closed in the library: ${error instanceof Error ? error.message : String(error)}`;
    }
    this.#deps.reportEngine({ realTimeFactor: statistics.realTimeFactor, backlogSeconds: 0 });
    this.#emitStatus(session, 'stopped');
    return ok({
      sessionId,
      mediaId: session.info.mediaId,
      finals: statistics.finals,
      durationSeconds: statistics.capturedSeconds,
      recordingPath: session.info.recordingPath,
    });
  }

  /** Stops the session in progress (app quitting); what it captioned is already stored. */
  async close(): Promise<void> {
    if (this.#session) await this.stop(this.#session.info.sessionId);
  }

  #commit(session: ActiveSession, phrase: LivePhrase, decision: ScaleDecision): void {
    try {
      commitSegments(
        this.#deps.database,
        session.info.sessionId,
        [
          {
            startSeconds: phrase.startSeconds,
            endSeconds: phrase.endSeconds,
            text: phrase.text,
            scaleId: phrase.scaleId,
            modality: phrase.modality,
            confidence: phrase.confidence,
            ...(phrase.videoMissing ? { videoMissing: phrase.videoMissing } : {}),
            scaleReason: decision.reason,
          },
        ],
        phrase.endSeconds,
      );
    } catch (error) {
      // The caption is still shown; the person is told it is not being saved.
      session.problem = `captions are not being saved: ${error instanceof Error ? error.message : String(error)}`;
      this.#deps.logger.error('could not store a live caption', { sessionId: session.info.sessionId, error: session.problem });
    }
  }

  #reportStatus(): void {
    const session = this.#session;
    if (!session) return;
    const statistics = session.captioner.statistics;
    this.#deps.reportEngine({ realTimeFactor: statistics.realTimeFactor, backlogSeconds: statistics.backlogSeconds });
    const recordingFailure = session.recorder.failure;
    if (recordingFailure && !session.problem) session.problem = `the recording stopped: ${recordingFailure.message}`;
    this.#emitStatus(session, statistics.inSpeech ? 'speaking' : 'listening');
  }

  #emitStatus(session: ActiveSession, state: LiveStatus['state']): void {
    const statistics = session.captioner.statistics;
    const scale = this.#deps.currentScale();
    const status: LiveStatus = {
      sessionId: session.info.sessionId,
      state,
      capturedSeconds: statistics.capturedSeconds,
      processedSeconds: statistics.processedSeconds,
      backlogSeconds: statistics.backlogSeconds,
      scaleId: session.info.scaleIds[scale.scaleIndex],
      audioGapSeconds: statistics.gapSeconds,
      video: !session.camera ? 'off' : session.lastFaceSeen ? 'face' : 'no-face',
      ...(session.problem ? { error: { code: 'internal', message: session.problem } } : {}),
    };
    this.#deps.emit('live.status', status);
  }
}

function toCaption(sessionId: number, phrase: LivePhrase): LiveCaption {
  return {
    sessionId,
    phraseId: phrase.phraseId,
    kind: phrase.kind,
    startSeconds: phrase.startSeconds,
    endSeconds: phrase.endSeconds,
    text: phrase.text,
    scaleId: phrase.scaleId,
    modality: phrase.modality,
    ...(phrase.videoMissing ? { videoMissing: phrase.videoMissing === 'no-face' ? 'no-face' : 'no-video' } : {}),
    ...(phrase.latencyMs !== undefined ? { latencyMs: Math.round(phrase.latencyMs) } : {}),
  };
}

/**
 * Live runs left 'running' by a crash or a killed app: their captions are already stored, so
 * the run is closed as finished and the recording's header is fixed from its length.
 */
export async function recoverInterruptedLiveSessions(database: SqliteDatabase, logger: LiveServiceDependencies['logger']): Promise<number> {
  const runs = runningRunsFlagged(database, livePolicyKey);
  for (const run of runs) {
    const media = getMedia(database, run.mediaId);
    let durationSeconds: number | undefined;
    try {
      durationSeconds = await repairWavHeader(media.path, liveSampleRate);
    } catch (error) {
      logger.warn('the recording of an interrupted live session could not be repaired', { path: media.path, error: String(error) });
    }
    finishRun(database, run.id);
    if (durationSeconds !== undefined) {
      updateMediaFacts(database, media.id, { ...media, durationSeconds, sizeBytes: 44 + Math.round(durationSeconds * liveSampleRate) * 2 });
    }
  }
  return runs.length;
}
