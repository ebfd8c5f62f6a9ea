import * as ort from 'onnxruntime-node';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import type { Captioner } from '../batch/batch-queue.js';
import { engineCaptioner } from '../batch/engine-captioner.js';
import { mediaProber } from '../batch/media-prober.js';
import { FaceLandmarker } from '../media/mouth-roi.js';
import { bundledFfmpegPath, FfmpegNotFoundError, locateFfmpeg, locateFfprobe, type FfmpegLocation } from '../media/ffmpeg-locator.js';
import { getMedia } from '../store/library.js';
import { LibraryService } from './library-service.js';
import { readSettings, updateSettings } from './settings-file.js';
import type { DevicePreferenceName, Heartbeat, Result, SettingsView, SystemStatus } from '../ipc/contract.js';
import { ok } from '../ipc/contract.js';
import { fail } from '../ipc/contract.js';
import { createDispatcher, type Dispatch } from '../ipc/dispatcher.js';
import { loadBundle, type ProviderChoice } from '../engine/bundle.js';
import { readBundleManifest } from '../engine/bundle-location.js';
import { candidateProviders } from '../engine/execution-providers.js';
import { defaultDecoding, Recognizer } from '../engine/recognizer.js';
import { VoiceActivityDetector } from '../engine/voice-activity.js';
import { LiveService, recoverInterruptedLiveSessions, type LiveEngine } from '../live/live-service.js';
import { parseManifest } from '../engine/bundle-manifest.js';
import { nodeMonitorSources, ResourceMonitor, type MonitorSources } from '../monitor/resource-monitor.js';
import { ScaleController } from '../monitor/scale-controller.js';
import { openDatabase } from '../store/database.js';
import { EventBus } from './event-bus.js';
import type { Logger } from './logger.js';
import { createSystemStatus } from './system-status.js';

export interface ServicesConfig {
  readonly app: SystemStatus['app'];
  readonly host: SystemStatus['host'];
  /** Where the database and other user data live. */
  readonly dataDirectory: string;
  readonly env: NodeJS.ProcessEnv;
  readonly logger: Logger;
  readonly heartbeatIntervalMs?: number;
  /** The model bundle whose scale ladder the policy works over. */
  readonly bundleDirectory: string;
  /** Where resource signals come from; the Electron shell passes powerMonitor-backed ones. */
  readonly monitorSources?: MonitorSources;
  readonly monitorIntervalMs?: number;
  /** The caption overlay window, which only the desktop shell has. */
  readonly overlay?: { setClickThrough(enabled: boolean): boolean };
  /** Where the host serves media files for the editor's player (`/media/` in the browser host). */
  readonly mediaUrlPrefix?: string;
  /** Batch captioning starts with the services (tests that do not caption can leave it off). */
  readonly startBatch?: boolean;
  /** Execution provider for the recognizer; `auto` takes the best that initialises. */
  readonly device?: DevicePreferenceName;
}

/** Scale ids from the bundle's manifest, or none (with the reason logged) when it cannot be read. */
function readScaleIds(bundleDirectory: string, logger: Logger): string[] {
  try {
    return parseManifest(readBundleManifest(bundleDirectory)).scales.map((scale) => scale.id);
  } catch (error) {
    logger.warn('no scale ladder: the model bundle could not be read', { bundleDirectory, error: error instanceof Error ? error.message : String(error) });
    return [];
  }
}

export interface AppServices {
  readonly dispatch: Dispatch;
  readonly events: EventBus;
  /** A binary live-media frame from a transport (Electron MessagePort, browser host WebSocket). */
  acceptMediaFrame(data: ArrayBuffer | ArrayBufferView): Result<void>;
  /** The file behind a media URL the services handed out, or undefined when the key is wrong. */
  resolveMediaFile(mediaId: number, key: string): string | undefined;
  close(): Promise<void>;
}

/**
 * Media URLs carry a per-run HMAC of the media id, so the host serves exactly the files the UI
 * was shown and nothing else, without the session token appearing in URLs.
 */
function mediaKeys() {
  const secret = randomBytes(32);
  const keyOf = (mediaId: number) => createHmac('sha256', secret).update(String(mediaId)).digest('base64url');
  return {
    keyOf,
    matches(mediaId: number, key: string): boolean {
      const expected = Buffer.from(keyOf(mediaId));
      const given = Buffer.from(key);
      return expected.length === given.length && timingSafeEqual(expected, given);
    },
  };
}

/** The batch captioner over the lazily loaded engine; lip reading when the face model loads. */
function lazyBatchCaptioner(loadEngine: () => Promise<LiveEngine>, ffmpeg: FfmpegLocation | undefined, env: NodeJS.ProcessEnv, chooseScale: () => { scaleIndex: number; reason: string }): Captioner {
  let captioner: Promise<Captioner> | undefined;
  return async (request) => {
    if (!ffmpeg) throw new FfmpegNotFoundError('ffmpeg was not found (FFMPEG_PATH, ffmpeg-static, PATH), so media files cannot be decoded');
    captioner ??= (async () => {
      const engine = await loadEngine();
      const landmarker = await FaceLandmarker.load().catch(() => undefined);
      return engineCaptioner({
        ort,
        recognizer: engine.recognizer,
        ffmpeg,
        ffprobePath: locateFfprobe(ffmpeg, env, process.platform) ?? null,
        roiSize: engine.recognizer.bundle.manifest.roi.width,
        chooseScale,
        decoding: defaultDecoding(engine.recognizer.bundle.manifest),
        useVideo: landmarker !== undefined,
        ...(landmarker ? { landmarker } : {}),
      });
    })();
    captioner.catch(() => (captioner = undefined));
    return (await captioner)(request);
  };
}

/**
 * The recognizer, loaded on first use and shared by live captions and the batch queue. A new
 * device preference applies from the next load; sessions already holding the old one finish on it.
 */
class EngineLoader {
  #loading: Promise<LiveEngine> | undefined;
  #provider: ProviderChoice | undefined;
  readonly #bundleDirectory: string;
  #device: DevicePreferenceName;

  constructor(bundleDirectory: string, device: DevicePreferenceName) {
    this.#bundleDirectory = bundleDirectory;
    this.#device = device;
  }

  get preference(): DevicePreferenceName {
    return this.#device;
  }

  get provider(): ProviderChoice | undefined {
    return this.#provider;
  }

  setDevice(device: DevicePreferenceName): void {
    if (device === this.#device) return;
    this.#device = device;
    this.#loading = undefined;
    this.#provider = undefined;
  }

  load = (): Promise<LiveEngine> => {
    this.#loading ??= loadBundle(ort, this.#bundleDirectory, { device: this.#device, autoCandidates: candidateProviders(process.platform) }).then((bundle) => {
      this.#provider = bundle.provider;
      return {
        recognizer: new Recognizer(ort, bundle),
        bundleId: bundle.manifest.id,
        device: bundle.provider.used,
        createVad: () => VoiceActivityDetector.create(ort),
      };
    });
    // A failed load is retried next time (the bundle may have been fixed meanwhile).
    this.#loading.catch(() => (this.#loading = undefined));
    return this.#loading;
  };
}

interface RawScale {
  audio_rate?: number;
  video_rate?: number;
  lm_tokens_per_second?: { avsr?: number };
  accuracy?: { wer_clean_seen?: Record<string, number | null>; wer_0db_babble_seen?: Record<string, number | null> } | null;
}

/** The bundle and its evaluation as the settings page shows them, read from the raw manifest. */
function bundleSummary(bundleDirectory: string): SettingsView['bundle'] {
  try {
    const raw = readBundleManifest(bundleDirectory) as { scales?: RawScale[] };
    const manifest = parseManifest(raw);
    const scales = manifest.scales.map((scale, index) => {
      const rawScale = raw.scales?.[index];
      const clean = rawScale?.accuracy?.wer_clean_seen;
      const noisy = rawScale?.accuracy?.wer_0db_babble_seen;
      return {
        id: scale.id,
        audioRate: rawScale?.audio_rate ?? 0,
        videoRate: rawScale?.video_rate ?? 0,
        lmTokensPerSecond: rawScale?.lm_tokens_per_second?.avsr,
        werCleanAudio: clean?.asr ?? undefined,
        werCleanAudioVisual: clean?.avsr ?? undefined,
        werNoisyAudio: noisy?.asr ?? undefined,
        werNoisyAudioVisual: noisy?.avsr ?? undefined,
      };
    });
    return {
      available: true,
      id: manifest.id,
      directory: bundleDirectory,
      description: manifest.description,
      scales,
      reportPath: manifest.evaluationReport === undefined ? undefined : join(bundleDirectory, manifest.evaluationReport),
    };
  } catch (error) {
    return { available: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * The composition root both hosts share: builds every main-side service from explicit
 * inputs. Electron's main.ts and the browser host differ only in how they carry the contract.
 */
export function createServices(config: ServicesConfig): AppServices {
  const databasePath = join(config.dataDirectory, 'nestcap.sqlite');
  const database = openDatabase(databasePath);
  const events = new EventBus();
  const systemStatus = createSystemStatus({
    app: config.app,
    host: config.host,
    ort,
    database,
    databasePath,
    ffmpeg: { env: config.env, platform: process.platform, bundledPath: bundledFfmpegPath() },
    platform: process.platform,
    arch: process.arch,
    nodeVersion: process.versions.node,
  });

  const monitor = new ResourceMonitor(config.monitorSources ?? nodeMonitorSources(process.platform), {
    intervalMs: config.monitorIntervalMs ?? 2000,
    gpuEvery: 5,
  });
  const savedSettings = readSettings(config.dataDirectory);
  const scales = new ScaleController(monitor, readScaleIds(config.bundleDirectory, config.logger), undefined, savedSettings.policy);
  monitor.subscribe((sample) => events.emit('monitor.sample', sample));
  scales.onDecision((decision) => events.emit('monitor.decision', decision));
  monitor.start();

  const engines = new EngineLoader(config.bundleDirectory, config.device ?? savedSettings.device);
  const loadEngine = engines.load;
  const currentScale = () => scales.current() ?? { scaleIndex: 0, reason: 'no scale policy (no ladder); finest scale' };
  const live = new LiveService({
    database,
    recordingsDirectory: join(config.dataDirectory, 'recordings'),
    loadEngine,
    currentScale,
    policyDescription: () => ({ mode: scales.state().mode }),
    reportEngine: (reading) => monitor.reportEngine(reading),
    emit: (event, payload) => events.emit(event, payload),
    logger: config.logger,
  });
  void recoverInterruptedLiveSessions(database, config.logger)
    .then((count) => count > 0 && config.logger.warn('closed live sessions an earlier run left open', { count }))
    .catch((error: unknown) => config.logger.error('could not recover interrupted live sessions', { error: String(error) }));

  let ffmpeg: FfmpegLocation | undefined;
  try {
    ffmpeg = locateFfmpeg({ env: config.env, platform: process.platform, bundledPath: bundledFfmpegPath() });
  } catch (error) {
    if (!(error instanceof FfmpegNotFoundError)) throw error;
    config.logger.warn('no ffmpeg: media files cannot be probed or captioned', { error: error.message });
  }
  const keys = mediaKeys();
  const library = new LibraryService({
    database,
    captioner: lazyBatchCaptioner(loadEngine, ffmpeg, config.env, currentScale),
    // Loads the recognizer first, so each run records the provider that really runs it.
    runSettings: async () => {
      const engine = await loadEngine();
      return { bundleId: engine.bundleId, device: engine.device, policy: { mode: scales.state().mode, scaleFromPolicy: true } };
    },
    probe: ffmpeg ? mediaProber(ffmpeg, locateFfprobe(ffmpeg, config.env, process.platform) ?? null) : undefined,
    mediaUrl: (mediaId) => `${config.mediaUrlPrefix ?? '/media/'}${mediaId}?key=${keys.keyOf(mediaId)}`,
    emit: (event, payload) => events.emit(event, payload),
    logger: config.logger,
  });
  if (config.startBatch ?? true) library.start();

  const settingsView = (): SettingsView => ({
    bundle: bundleSummary(config.bundleDirectory),
    device: { preference: engines.preference, used: engines.provider?.used, fallbacks: engines.provider?.fallbacks ?? [] },
    storage: { dataDirectory: config.dataDirectory, databasePath, recordingsDirectory: join(config.dataDirectory, 'recordings') },
    appearance: { theme: readSettings(config.dataDirectory).theme },
  });

  const dispatch = createDispatcher(
    {
      'system.getStatus': async () => ok(await systemStatus()),
      'monitor.getState': () => Promise.resolve(ok(scales.state())),
      'monitor.setMode': (request) => {
        const problem = scales.setMode(request.mode, request.fixedScaleId);
        if (problem !== undefined) return Promise.resolve(fail('invalid-request', problem, 'request.fixedScaleId'));
        const { mode, fixedScaleId } = scales.state();
        updateSettings(config.dataDirectory, { policy: fixedScaleId === undefined ? { mode } : { mode, fixedScaleId } });
        return Promise.resolve(ok(scales.state()));
      },
      'live.start': (request) => live.start(request),
      'live.stop': (request) => live.stop(request.sessionId),
      'live.current': () => Promise.resolve(ok(live.current())),
      'overlay.setClickThrough': (request) => {
        if (!config.overlay) return Promise.resolve(fail('unavailable', 'clicks can pass through the overlay only in the desktop app; a browser window cannot do it'));
        if (!config.overlay.setClickThrough(request.enabled)) return Promise.resolve(fail('not-found', 'the caption overlay is not open'));
        return Promise.resolve(ok({ enabled: request.enabled }));
      },
      'library.get': () => Promise.resolve(library.library()),
      'library.addFolder': (request) => library.addFolder(request.path, request.watch),
      'batch.get': () => Promise.resolve(library.batch()),
      'batch.setPaused': (request) => Promise.resolve(library.setPaused(request.paused)),
      'batch.jobAction': (request) => Promise.resolve(library.jobAction(request.jobId, request.action)),
      'search.run': (request) => Promise.resolve(library.search(request.text)),
      'transcript.get': (request) => Promise.resolve(library.transcript(request.mediaId)),
      'transcript.edit': (request) => Promise.resolve(library.edit(request.mediaId, request.edit)),
      'export.preview': (request) => Promise.resolve(library.exportPreview(request)),
      'export.write': (request) => library.exportWrite(request),
      'settings.get': () => Promise.resolve(ok(settingsView())),
      'settings.setDevice': (request) => {
        engines.setDevice(request.device);
        updateSettings(config.dataDirectory, { device: request.device });
        return Promise.resolve(ok(settingsView()));
      },
      'settings.setTheme': (request) => {
        updateSettings(config.dataDirectory, { theme: request.theme });
        return Promise.resolve(ok(settingsView()));
      },
    },
    config.logger,
  );

  const startedAt = Date.now();
  const heartbeat = setInterval(() => {
    const payload: Heartbeat = {
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      residentSetBytes: process.memoryUsage.rss(),
      sentAt: new Date().toISOString(),
    };
    events.emit('system.heartbeat', payload);
  }, config.heartbeatIntervalMs ?? 2000);
  heartbeat.unref();

  return {
    dispatch,
    events,
    acceptMediaFrame: (data) => live.acceptFrame(data),
    resolveMediaFile(mediaId, key) {
      if (!keys.matches(mediaId, key)) return undefined;
      try {
        return getMedia(database, mediaId).path;
      } catch {
        return undefined;
      }
    },
    async close() {
      clearInterval(heartbeat);
      await live.close();
      await library.stop();
      monitor.stop();
      scales.dispose();
      database.close();
    },
  };
}
