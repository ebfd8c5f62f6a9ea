import * as ort from 'onnxruntime-node';
import { join } from 'node:path';
import type { Heartbeat, SystemStatus } from '../ipc/contract.js';
import { ok } from '../ipc/contract.js';
import { fail } from '../ipc/contract.js';
import { createDispatcher, type Dispatch } from '../ipc/dispatcher.js';
import { readBundleManifest } from '../engine/bundle-location.js';
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
  close(): void;
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

  const dispatch = createDispatcher(
    {
      'system.getStatus': async () => ok(await systemStatus()),
      'monitor.getState': () => Promise.resolve(ok(scales.state())),
      'monitor.setMode': (request) => {
        const problem = scales.setMode(request.mode, request.fixedScaleId);
        return Promise.resolve(problem === undefined ? ok(scales.state()) : fail('invalid-request', problem, 'request.fixedScaleId'));
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
    close() {
      clearInterval(heartbeat);
      monitor.stop();
      scales.dispose();
      database.close();
    },
  };
}
