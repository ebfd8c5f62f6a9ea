import * as ort from 'onnxruntime-node';
import { join } from 'node:path';
import type { Heartbeat, SystemStatus } from '../ipc/contract.js';
import { ok } from '../ipc/contract.js';
import { createDispatcher, type Dispatch } from '../ipc/dispatcher.js';
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

  const dispatch = createDispatcher(
    {
      'system.getStatus': async () => ok(await systemStatus()),
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
      database.close();
    },
  };
}
