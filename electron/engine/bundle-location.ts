import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The model bundle that ships in the repository and is used when none is chosen. */
export const builtInBundleId = 'nestcap-av-small';

export class BundleUnavailableError extends Error {
  override readonly name = 'BundleUnavailableError';
}

/** Confirms a bundle folder holds a readable manifest; full validation happens when it is loaded. */
export function readBundleManifest(bundleDirectory: string): unknown {
  try {
    if (!statSync(bundleDirectory).isDirectory()) {
      throw new BundleUnavailableError(`${bundleDirectory} is not a folder.`);
    }
  } catch (error) {
    if (error instanceof BundleUnavailableError) throw error;
    throw new BundleUnavailableError(
      `No model bundle at ${bundleDirectory}. The built-in model has not been exported into the ` +
        'repository yet (see native-models/README.md), or --model points to the wrong folder.',
    );
  }
  const manifestPath = join(bundleDirectory, 'manifest.json');
  let text: string;
  try {
    text = readFileSync(manifestPath, 'utf8');
  } catch {
    throw new BundleUnavailableError(`The model bundle at ${bundleDirectory} has no manifest.json.`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new BundleUnavailableError(
      `${manifestPath} is not valid JSON (${error instanceof Error ? error.message : String(error)}).`,
    );
  }
}
