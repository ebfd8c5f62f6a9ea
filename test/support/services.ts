import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, type LogEntry } from '../../electron/app/logger.js';
import { createServices, type AppServices } from '../../electron/app/services.js';
import { builtInBundleId } from '../../electron/engine/bundle-location.js';
import { projectRoot } from './browser.js';

export interface ServicesFixture {
  readonly services: AppServices;
  readonly logEntries: LogEntry[];
  readonly dataDirectory: string;
  dispose(): Promise<void>;
}

/** Real services on a throwaway data folder, with their log captured for assertions. */
export function createServicesFixture(heartbeatIntervalMs = 200): ServicesFixture {
  const dataDirectory = mkdtempSync(join(tmpdir(), 'nestcap-test-'));
  const logEntries: LogEntry[] = [];
  const services = createServices({
    app: { name: 'Nestcap', version: '0.0.0-test' },
    host: 'browser',
    dataDirectory,
    env: process.env,
    logger: createLogger((entry) => logEntries.push(entry)),
    heartbeatIntervalMs,
    bundleDirectory: process.env.NESTCAP_TEST_BUNDLE ?? join(projectRoot, 'native-models', builtInBundleId),
    monitorIntervalMs: 300,
  });
  return {
    services,
    logEntries,
    dataDirectory,
    async dispose() {
      await services.close();
      rmSync(dataDirectory, { recursive: true, force: true });
    },
  };
}
