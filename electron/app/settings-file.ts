import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { devicePreferences, type DevicePreferenceName } from '../ipc/contract.js';

/** The few preferences that live outside the library database, as a small JSON file. */

export interface AppSettings {
  readonly device: DevicePreferenceName;
}

export const defaultSettings: AppSettings = { device: 'auto' };

export function settingsPath(dataDirectory: string): string {
  return join(dataDirectory, 'settings.json');
}

/** A missing or damaged file gives the defaults: preferences are never worth failing to start over. */
export function readSettings(dataDirectory: string): AppSettings {
  try {
    const raw = JSON.parse(readFileSync(settingsPath(dataDirectory), 'utf8')) as Record<string, unknown>;
    const device = devicePreferences.find((name) => name === raw.device) ?? defaultSettings.device;
    return { device };
  } catch {
    return defaultSettings;
  }
}

export function writeSettings(dataDirectory: string, settings: AppSettings): void {
  const path = settingsPath(dataDirectory);
  writeFileSync(`${path}.tmp`, JSON.stringify(settings, null, 2));
  renameSync(`${path}.tmp`, path);
}
