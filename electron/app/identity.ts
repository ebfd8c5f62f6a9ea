import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { SystemStatus } from '../ipc/contract.js';

/** Name and version from the app's package.json (the Electron shell asks `app` instead). */
export function readAppIdentity(packageJsonPath: string): SystemStatus['app'] {
  const parsed = JSON.parse(readFileSync(packageJsonPath, 'utf8')) as { productName?: unknown; version?: unknown };
  if (typeof parsed.version !== 'string') throw new Error(`${packageJsonPath} has no version`);
  return { name: typeof parsed.productName === 'string' ? parsed.productName : 'Nestcap', version: parsed.version };
}

/** Per-user data folder following each platform's convention, overridable with NESTCAP_DATA_DIR. */
export function defaultDataDirectory(env: NodeJS.ProcessEnv, platform: NodeJS.Platform, home = homedir()): string {
  if (env.NESTCAP_DATA_DIR) return env.NESTCAP_DATA_DIR;
  if (platform === 'win32') return join(env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'Nestcap');
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'Nestcap');
  return join(env.XDG_DATA_HOME ?? join(home, '.local', 'share'), 'nestcap');
}
