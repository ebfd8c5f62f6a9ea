import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { devicePreferences, policyModes, themeNames, type DevicePreferenceName, type PolicyMode, type ThemeName } from '../ipc/contract.js';

/** The few preferences that live outside the library database, as a small JSON file. */

export interface AppSettings {
  readonly device: DevicePreferenceName;
  readonly theme: ThemeName;
  /** The scale policy the monitor starts with; fixedScaleId only with mode 'fixed'. */
  readonly policy: { readonly mode: PolicyMode; readonly fixedScaleId?: string };
}

export const defaultSettings: AppSettings = { device: 'auto', theme: 'system', policy: { mode: 'balanced' } };

export function settingsPath(dataDirectory: string): string {
  return join(dataDirectory, 'settings.json');
}

/** A missing or damaged file gives the defaults: preferences are never worth failing to start over. */
export function readSettings(dataDirectory: string): AppSettings {
  try {
    const raw = JSON.parse(readFileSync(settingsPath(dataDirectory), 'utf8')) as Record<string, unknown>;
    const device = devicePreferences.find((name) => name === raw.device) ?? defaultSettings.device;
    const theme = themeNames.find((name) => name === raw.theme) ?? defaultSettings.theme;
    const rawPolicy = (typeof raw.policy === 'object' && raw.policy !== null ? raw.policy : {}) as Record<string, unknown>;
    const mode = policyModes.find((name) => name === rawPolicy.mode) ?? defaultSettings.policy.mode;
    const policy = mode === 'fixed' && typeof rawPolicy.fixedScaleId === 'string' ? { mode, fixedScaleId: rawPolicy.fixedScaleId } : { mode };
    return { device, theme, policy };
  } catch {
    return defaultSettings;
  }
}

/** Reads the file, applies the change and writes it back whole (through a rename, so a crash leaves the old file). */
export function updateSettings(dataDirectory: string, change: Partial<AppSettings>): AppSettings {
  const next = { ...readSettings(dataDirectory), ...change };
  writeSettings(dataDirectory, next);
  return next;
}

export function writeSettings(dataDirectory: string, settings: AppSettings): void {
  const path = settingsPath(dataDirectory);
  writeFileSync(`${path}.tmp`, JSON.stringify(settings, null, 2));
  renameSync(`${path}.tmp`, path);
}
