import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { defaultSettings, readSettings, settingsPath, updateSettings } from '../../electron/app/settings-file.js';

function scratch(t: TestContext): string {
  const directory = mkdtempSync(join(tmpdir(), 'nestcap-settings-'));
  t.after(() => rmSync(directory, { recursive: true, force: true }));
  return directory;
}

test('settings round-trip, and each change keeps the others', (t) => {
  const directory = scratch(t);
  assert.deepEqual(readSettings(directory), defaultSettings, 'no file gives the defaults');
  updateSettings(directory, { device: 'cpu' });
  updateSettings(directory, { theme: 'high-contrast' });
  updateSettings(directory, { policy: { mode: 'fixed', fixedScaleId: 's3' } });
  assert.deepEqual(readSettings(directory), { device: 'cpu', theme: 'high-contrast', policy: { mode: 'fixed', fixedScaleId: 's3' } });
});

test('a damaged or hand-edited file gives the defaults for what it gets wrong', (t) => {
  const directory = scratch(t);
  writeFileSync(settingsPath(directory), '{"device": "cpu", "theme"');
  assert.deepEqual(readSettings(directory), defaultSettings, 'truncated JSON');
  writeFileSync(settingsPath(directory), JSON.stringify({ device: 'tpu', theme: 'dark', policy: { mode: 'saver', fixedScaleId: 's1' } }));
  assert.deepEqual(readSettings(directory), { device: 'auto', theme: 'dark', policy: { mode: 'saver' } });
  writeFileSync(settingsPath(directory), JSON.stringify({ policy: 'fixed' }));
  assert.deepEqual(readSettings(directory).policy, { mode: 'balanced' });
});
