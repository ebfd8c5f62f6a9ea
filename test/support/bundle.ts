import { cpSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtInBundleId } from '../../electron/engine/bundle-location.js';
import { projectRoot } from './browser.js';

/**
 * The bundle engine tests run against: NESTCAP_TEST_BUNDLE when set (CI points it at the
 * bundle its smoke training just exported), otherwise the built-in bundle in the repository.
 */
export function testBundleDirectory(): string {
  const directory = process.env.NESTCAP_TEST_BUNDLE ?? join(projectRoot, 'native-models', builtInBundleId);
  if (!existsSync(join(directory, 'manifest.json'))) {
    throw new Error(`No model bundle for the engine tests at ${directory}; export one or set NESTCAP_TEST_BUNDLE.`);
  }
  return directory;
}

/** A private copy to damage in a test. */
export function copyOfTestBundle(): string {
  const copy = join(mkdtempSync(join(tmpdir(), 'nestcap-bundle-')), 'bundle');
  cpSync(testBundleDirectory(), copy, { recursive: true });
  return copy;
}
