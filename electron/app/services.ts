import * as ort from 'onnxruntime-node';
import { join } from 'node:path';
import type { Heartbeat, Result, SystemStatus } from '../ipc/contract.js';
import { ok } from '../ipc/contract.js';
import { fail } from '../ipc/contract.js';
import { createDispatcher, type Dispatch } from '../ipc/dispatcher.js';
import { loadBundle, type DevicePreference } from '../engine/bundle.js';
import { readBundleManifest } from '../engine/bundle-location.js';
import { candidateProviders } from '../engine/execution-providers.js';
import { Recognizer } from '../engine/recognizer.js';
import { VoiceActivityDetector } from '../engine/voice-activity.js';
import { LiveService, recoverInterruptedLiveSessions, type LiveEngine } from '../live/live-service.js';
import { parseManifest } from '../engine/bundle-manifest.js';
import { nodeMonitorSources, ResourceMonitor, type MonitorSources } from '../monitor/resource-monitor.js';
import { ScaleController } from '../monitor/scale-controller.js';
import { bundledFfmpegPath } from '../media/ffmpeg-locator.js';
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
  /** Execution provider for the recognizer; `auto` takes the best that initialises. */
  readonly device?: DevicePreference;
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
  close(): Promise<void>;
}

/** The recognizer for live captions, loaded on first use and shared afterwards. */
function lazyEngine(bundleDirectory: string, device: DevicePreference): () => Promise<LiveEngine> {
  let loading: Promise<LiveEngine> | undefined;
  return () => {
    loading ??= loadBundle(ort, bundleDirectory, { device, autoCandidates: candidateProviders(process.platform) }).then((bundle) => ({
      recognizer: new Recognizer(ort, bundle),
      bundleId: bundle.manifest.id,
      device: bundle.provider.used,
      createVad: () => VoiceActivityDetector.create(ort),
    }));
    // A failed load is retried next time (the bundle may have been fixed meanwhile).
    loading.catch(() => (loading = undefined));
    return loading;
  };
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
  const scales = new ScaleController(monitor, readScaleIds(config.bundleDirectory, config.logger));
  monitor.subscribe((sample) => events.emit('monitor.sample', sample));
  scales.onDecision((decision) => events.emit('monitor.decision', decision));
  monitor.start();

  const live = new LiveService({
    database,
    recordingsDirectory: join(config.dataDirectory, 'recordings'),
    loadEngine: lazyEngine(config.bundleDirectory, config.device ?? 'auto'),
    currentScale: () => scales.current() ?? { scaleIndex: 0, reason: 'no scale policy (no ladder); finest scale' },
    policyDescription: () => ({ mode: scales.state().mode }),
    reportEngine: (reading) => monitor.reportEngine(reading),
    emit: (event, payload) => events.emit(event, payload),
    logger: config.logger,
  });
  void recoverInterruptedLiveSessions(database, config.logger)
    .then((count) => count > 0 && config.logger.warn('closed live sessions an earlier run left open', { count }))
    .catch((error: unknown) => config.logger.error('could not recover interrupted live sessions', { error: String(error) }));

  const dispatch = createDispatcher(
    {
      'system.getStatus': async () => ok(await systemStatus()),
      'monitor.getState': () => Promise.resolve(ok(scales.state())),
      'monitor.setMode': (request) => {
        const problem = scales.setMode(request.mode, request.fixedScaleId);
        return Promise.resolve(problem === undefined ? ok(scales.state()) : fail('invalid-request', problem, 'request.fixedScaleId'));
      },
      'live.start': (request) => live.start(request),
      'live.stop': (request) => live.stop(request.sessionId),
      'live.current': () => Promise.resolve(ok(live.current())),
      'overlay.setClickThrough': (request) => {
        if (!config.overlay) return Promise.resolve(fail('unavailable', 'clicks can pass through the overlay only in the desktop app; a browser window cannot do it'));
        if (!config.overlay.setClickThrough(request.enabled)) return Promise.resolve(fail('not-found', 'the caption overlay is not open'));
        return Promise.resolve(ok({ enabled: request.enabled }));
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
    async close() {
      clearInterval(heartbeat);
      await live.close();
      monitor.stop();
      scales.dispose();
      database.close();
    },
  };
}
