import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultDataDirectory, readAppIdentity } from '../app/identity.js';
import { createLogger, jsonLinesSink } from '../app/logger.js';
import { findProjectRoot } from '../app/project-root.js';
import { createServices } from '../app/services.js';
import { builtInBundleId } from '../engine/bundle-location.js';
import { startBrowserHost } from './browser-host.js';

/** `npm run host`: the UI in any local browser, backed by the real services. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      'data-dir': { type: 'string' },
      model: { type: 'string' },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`--port must be an integer from 0 to 65535, got "${values.port}"\n`);
    process.exit(2);
  }
  const root = findProjectRoot(import.meta.url);
  const rendererDirectory = join(root, 'dist', 'renderer');
  if (!existsSync(join(rendererDirectory, 'index.html'))) {
    process.stderr.write(`The renderer is not built (${rendererDirectory} has no index.html). Run \`npm run build\` first.\n`);
    process.exit(1);
  }
  const logger = createLogger(jsonLinesSink(process.stderr));
  const services = createServices({
    app: readAppIdentity(join(root, 'package.json')),
    host: 'browser',
    dataDirectory: values['data-dir'] ?? defaultDataDirectory(process.env, process.platform),
    env: process.env,
    logger,
    bundleDirectory: values.model ?? join(root, 'native-models', builtInBundleId),
  });
  const host = await startBrowserHost({ services, rendererDirectory, logger, port });
  process.stdout.write(`Nestcap is running at ${host.url}\n`);
  const shutdown = () => {
    void host
      .close()
      .then(() => services.close())
      .then(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

await main();
