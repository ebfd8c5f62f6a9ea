import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseSync } from 'subtitle';
import { startBrowserHost } from '../../electron/host/browser-host.js';
import { readSettings } from '../../electron/app/settings-file.js';
import { phrases, speechFile } from '../batch/fixtures.js';
import { launchChromium, projectRoot, testOutputDirectory } from '../support/browser.js';
import { createServicesFixture } from '../support/services.js';
import { waitUntil } from '../support/wait.js';
import { accessibilityProblems } from '../support/accessibility.js';

/**
 * The main journeys of the desktop UI in Chromium, through the browser host and the real
 * services: add a folder of generated videos → watch the queue → open a transcript → edit,
 * split, undo → export SRT; search; change settings. Each view is screenshotted.
 */
test('library, editor, export, search and settings in a real browser', async (t) => {
  const fixture = createServicesFixture();
  t.after(() => fixture.dispose());
  const folder = mkdtempSync(join(tmpdir(), 'nestcap-journey-'));
  t.after(() => rmSync(folder, { recursive: true, force: true }));
  speechFile(join(folder, 'team meeting.mp4'), phrases.slice(0, 4), { video: true });
  speechFile(join(folder, 'lecture.mp4'), phrases.slice(4, 7), { video: true });
  const exportFolder = mkdtempSync(join(tmpdir(), 'nestcap-journey-export-'));
  t.after(() => rmSync(exportFolder, { recursive: true, force: true }));

  const host = await startBrowserHost({ services: fixture.services, rendererDirectory: join(projectRoot, 'dist', 'renderer'), logger: { info() {}, warn() {}, error() {} } });
  t.after(() => host.close());
  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const consoleProblems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleProblems.push(message.text());
  });
  page.on('pageerror', (error) => consoleProblems.push(error.message));
  const shots = testOutputDirectory('e2e', 'views');
  await page.goto(host.url);
  await page.getByTestId('connection-state').filter({ hasText: 'Connected' }).waitFor();

  await t.test('add a folder and watch the queue caption it', async () => {
    await page.getByTestId('tab-library').click();
    await page.getByTestId('folder-path').fill(folder);
    await page.getByTestId('add-folder').click();
    await page.getByTestId('library-message').filter({ hasText: /Added 2 files/ }).waitFor();
    // Progress bars appear while the queue works, and go when it is done.
    await page.getByTestId('job').first().waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(shots, 'library-queue.png'), fullPage: true });
    await page.getByTestId('queue-empty').waitFor({ timeout: 180_000 });
    const rows = page.getByTestId('media-row');
    assert.equal(await rows.count(), 2);
    assert.deepEqual(await rows.evaluateAll((elements) => elements.map((element) => (element as { getAttribute(name: string): string | null }).getAttribute('data-status'))), ['captioned', 'captioned']);
    await page.screenshot({ path: join(shots, 'library.png'), fullPage: true });
  });

  await t.test('open a transcript, edit, split and undo', async () => {
    await page.getByTestId('media-row').filter({ hasText: 'team meeting.mp4' }).getByTestId('open-media').click();
    const segments = page.getByTestId('segment');
    await segments.first().waitFor();
    const before = await segments.count();
    assert.ok(before >= 2, `${before} segments`);
    assert.match((await segments.first().locator('.tag').textContent()) ?? '', /^s\d · (audio|audio-visual)/, 'segments show the scale and modality they were made with');

    const firstText = segments.first().getByTestId('segment-text');
    await firstText.fill('the budget review starts now');
    await firstText.press('Enter');
    await page.getByTestId('undo').and(page.locator(':enabled')).waitFor();

    // Split at the cursor after "the budget".
    await firstText.focus();
    await firstText.evaluate((element) => (element as unknown as { setSelectionRange(from: number, to: number): void }).setSelectionRange(10, 10));
    await firstText.press('Control+Enter');
    await segments.nth(before).waitFor();
    assert.equal(await segments.nth(0).getByTestId('segment-text').inputValue(), 'the budget');
    assert.equal(await segments.nth(1).getByTestId('segment-text').inputValue(), 'review starts now');

    await page.getByTestId('undo').click();
    await segments.nth(before).waitFor({ state: 'detached' });
    assert.equal(await segments.first().getByTestId('segment-text').inputValue(), 'the budget review starts now');

    // Clicking a segment seeks the player; the playing segment is highlighted.
    await segments.nth(1).getByRole('button', { name: /Play from/ }).click();
    const time = await page.getByTestId('player').evaluate((element) => (element as unknown as { currentTime: number }).currentTime);
    assert.ok(time > 0, `the player moved to ${time}`);
    await page.locator('[data-testid="segment"][aria-current="time"]').waitFor();

    await page.keyboard.press('?');
    await page.getByTestId('shortcuts-help').waitFor();
    await page.screenshot({ path: join(shots, 'editor-shortcuts.png'), fullPage: true });
    await page.keyboard.press('Escape');
    await page.screenshot({ path: join(shots, 'editor.png'), fullPage: true });
  });

  await t.test('export SRT with a preview, and the file reads back', async () => {
    await page.getByTestId('export-open').click();
    const dialog = page.getByTestId('export-dialog');
    await dialog.waitFor();
    await dialog.getByTestId('format-srt').check();
    await dialog.getByTestId('export-directory').fill(exportFolder);
    await dialog.getByTestId('export-preview').filter({ hasText: /^1\n00:00:/ }).waitFor();
    assert.match((await dialog.getByTestId('export-preview').textContent()) ?? '', /The budget review/);
    await page.screenshot({ path: join(shots, 'export.png'), fullPage: true });
    await dialog.getByTestId('export-save').click();
    await dialog.getByTestId('export-result').filter({ hasText: /Saved/ }).waitFor();
    const file = readdirSync(exportFolder)[0] ?? '';
    assert.ok(file.endsWith('.srt'), file);
    const cues = parseSync(readFileSync(join(exportFolder, file), 'utf8')).filter((node) => node.type === 'cue');
    assert.ok(cues.length >= 2);
    await dialog.getByRole('button', { name: 'Close' }).click();
    await page.getByTestId('editor-back').click();
  });

  await t.test('search finds the edit and opens the editor at its time', async () => {
    await page.getByTestId('search').fill('budget rev');
    const hit = page.getByTestId('search-hits').getByRole('button').first();
    await hit.waitFor();
    assert.match((await hit.textContent()) ?? '', /team meeting\.mp4/);
    await page.screenshot({ path: join(shots, 'search.png'), fullPage: true });
    await hit.click();
    await page.getByTestId('segment').first().waitFor();
    await page.getByTestId('editor-back').click();
  });

  await t.test('settings show the model and change the device', async () => {
    await page.getByTestId('tab-settings').click();
    await page.getByTestId('bundle-scales').waitFor();
    assert.ok((await page.getByTestId('bundle-scales').locator('tbody tr').count()) >= 2);
    await page.getByTestId('device').selectOption('cpu');
    await page.getByRole('status').filter({ hasText: /applies the next time/ }).waitFor();
    assert.equal(readSettings(fixture.dataDirectory).device, 'cpu');
    await page.screenshot({ path: join(shots, 'settings.png'), fullPage: true });

    await page.getByTestId('policy-mode').selectOption('saver');
    await waitUntil(() => readSettings(fixture.dataDirectory).policy.mode === 'saver', 'the policy mode is saved');
    await page.getByTestId('policy-mode').selectOption('balanced');
    await waitUntil(() => readSettings(fixture.dataDirectory).policy.mode === 'balanced', 'the policy mode is saved back');
  });

  await t.test('themes: high contrast is applied, saved, and survives reopening the page', async () => {
    const rootTheme = () => page.locator('html').getAttribute('data-theme');
    const bodyColours = () =>
      page.evaluate<{ text: string; background: string }>('(() => { const style = getComputedStyle(document.body); return { text: style.color, background: style.backgroundColor }; })()');
    await page.getByTestId('theme').getByLabel('High contrast').check();
    await waitUntil(async () => (await rootTheme()) === 'high-contrast', 'the page switches to high contrast');
    assert.deepEqual(await bodyColours(), { text: 'rgb(255, 255, 255)', background: 'rgb(0, 0, 0)' });
    assert.equal(readSettings(fixture.dataDirectory).theme, 'high-contrast');
    await page.screenshot({ path: join(shots, 'settings-high-contrast.png'), fullPage: true });
    // Reopening the app's address (a reload has no token: the page drops it from the URL at once).
    await page.goto(host.url);
    await page.getByTestId('connection-state').filter({ hasText: /Connected/ }).waitFor();
    await waitUntil(async () => (await rootTheme()) === 'high-contrast', 'the saved theme applies when the page opens again');
    await page.getByTestId('tab-live').click();
    await page.screenshot({ path: join(shots, 'live-high-contrast.png'), fullPage: true });

    await page.getByTestId('tab-settings').click();
    await page.getByTestId('theme').getByLabel('Dark').check();
    await waitUntil(async () => (await bodyColours()).background === 'rgb(21, 23, 28)', 'the dark palette applies');
    await page.screenshot({ path: join(shots, 'settings-dark.png'), fullPage: true });
    await page.getByTestId('theme').getByLabel('Light').check();
    await waitUntil(async () => (await bodyColours()).background === 'rgb(246, 247, 249)', 'the light palette applies');
  });

  await t.test('status and live views', async () => {
    await page.getByTestId('tab-status').click();
    await page.getByTestId('scale-chart').waitFor();
    await page.screenshot({ path: join(shots, 'status.png'), fullPage: true });
    await page.getByTestId('tab-live').click();
    await page.screenshot({ path: join(shots, 'live.png'), fullPage: true });
  });

  await t.test('accessibility: axe-core finds no serious problem in any view, in light, dark and high contrast', async () => {
    const problems: string[] = [];
    const check = async (where: string) => {
      for (const problem of await accessibilityProblems(page)) problems.push(`${where}: ${problem.rule} (${problem.impact}) ${problem.help} at ${problem.targets.slice(0, 3).join(', ')}`);
    };
    for (const theme of ['Light', 'Dark', 'High contrast']) {
      await page.getByTestId('tab-settings').click();
      await page.getByTestId('theme').getByLabel(theme).check();
      await check(`${theme} · settings`);
      await page.getByTestId('tab-live').click();
      await check(`${theme} · live`);
      await page.getByTestId('tab-status').click();
      await page.getByTestId('scale-chart').waitFor();
      await check(`${theme} · status`);
      await page.getByTestId('tab-library').click();
      await page.getByTestId('media-row').first().waitFor();
      await check(`${theme} · library`);
      await page.getByTestId('media-row').first().getByTestId('open-media').click();
      await page.getByTestId('segment').first().waitFor();
      await check(`${theme} · editor`);
      await page.getByTestId('editor-back').click();
    }
    await page.getByTestId('tab-settings').click();
    await page.getByTestId('theme').getByLabel('Follow the system').check();
    assert.deepEqual(problems, []);
  });

  await t.test('the keyboard reaches every view', async () => {
    await page.getByTestId('tab-live').focus();
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.locator(':focus').getAttribute('data-testid'), 'tab-library');
    assert.equal(await page.getByTestId('tab-library').getAttribute('aria-selected'), 'true');
    assert.deepEqual(consoleProblems, []);
  });
});

test('the accessibility check itself catches what it should (so a clean result means something)', async (t) => {
  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await browser.newPage();
  await page.setContent('<html lang="en"><head><title>check</title></head><body><main><p style="color:#999;background:#fff">faint text</p><button></button><img src="data:,"></main></body></html>');
  const rules = new Set((await accessibilityProblems(page)).map((problem) => problem.rule));
  assert.deepEqual([...rules].sort(), ['button-name', 'color-contrast', 'image-alt']);
});
