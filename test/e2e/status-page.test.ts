import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { startBrowserHost } from '../../electron/host/browser-host.js';
import { bundledFfmpegPath, locateFfmpeg } from '../../electron/media/ffmpeg-locator.js';
import { launchChromium, projectRoot, testOutputDirectory } from '../support/browser.js';
import { createServicesFixture } from '../support/services.js';

test('the status page shows live facts from the real services in Chromium', async (t) => {
  const fixture = createServicesFixture();
  t.after(() => fixture.dispose());
  const host = await startBrowserHost({
    services: fixture.services,
    rendererDirectory: join(projectRoot, 'dist', 'renderer'),
    logger: { info() {}, warn() {}, error() {} },
  });
  t.after(() => host.close());
  const browser = await launchChromium();
  t.after(() => browser.close());

  const page = await browser.newPage();
  const consoleProblems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') consoleProblems.push(message.text());
  });
  page.on('pageerror', (error) => consoleProblems.push(error.message));

  await t.test('the page connects with the token from its URL', async () => {
    await page.goto(host.url);
    await page.getByTestId('connection-state').filter({ hasText: 'Connected (browser host)' }).waitFor();
    assert.ok(!page.url().includes(host.token), 'the token is removed from the address bar');
    await page.getByTestId('tab-status').click();
  });

  await t.test('ONNX Runtime version and providers come from the real runtime', async () => {
    const version = await page.getByTestId('onnx-runtime-version').textContent();
    assert.equal(version, ort.env.versions.node);
    assert.equal(await page.getByTestId('provider-cpu').getAttribute('data-usable'), 'true');
    const cudaRow = page.getByTestId('provider-cuda');
    if (process.platform === 'linux' && (await cudaRow.getAttribute('data-usable')) === 'false') {
      assert.match((await cudaRow.textContent()) ?? '', /not usable.+CUDA add-on/, 'an unusable provider says why');
    }
  });

  await t.test('SQLite version comes from the app database', async () => {
    const expected = (new Database(':memory:').prepare('select sqlite_version() as v').get() as { v: string }).v;
    assert.equal(await page.getByTestId('sqlite-version').textContent(), expected);
    assert.ok(((await page.getByTestId('sqlite').textContent()) ?? '').includes(fixture.dataDirectory));
  });

  await t.test('ffmpeg version comes from the binary the app resolved', async () => {
    const location = locateFfmpeg({ env: process.env, platform: process.platform, bundledPath: bundledFfmpegPath() });
    const firstLine = execFileSync(location.path, ['-version'], { encoding: 'utf8' }).split('\n')[0] ?? '';
    const shown = (await page.getByTestId('ffmpeg-version').textContent()) ?? '<missing>';
    assert.ok(firstLine.startsWith(`ffmpeg version ${shown} `), `${firstLine} vs ${shown}`);
  });

  await t.test('heartbeats from the main side keep arriving', async () => {
    const heartbeat = page.getByTestId('heartbeat');
    await heartbeat.filter({ hasText: /resident/ }).waitFor();
    const first = (await heartbeat.textContent()) ?? '';
    await heartbeat.filter({ hasNotText: first }).waitFor({ timeout: 5000 });
  });

  await t.test('the monitor panel shows live signals, the current scale and the decision log', async () => {
    await page.getByTestId('signal-cpu').filter({ hasText: /^\d+%$/ }).waitFor({ timeout: 5000 });
    await page.getByTestId('decision-log').getByText(/holding/).first().waitFor({ timeout: 5000 });
    // Which rung depends on this machine's real load right now; the ladder and its order do not.
    const current = (await page.getByTestId('current-scale').textContent()) ?? '';
    assert.match(current, /Current scale: s\d+ \(ladder s0 → s1 → s2 → s3, finest first\)/);
    const newestDecision = (await page.getByTestId('decision-log').locator('li').first().textContent()) ?? '';
    assert.ok(newestDecision.includes(/Current scale: (s\d+)/.exec(current)![1]!), `${newestDecision} vs ${current}`);
  });

  await t.test('choosing Battery saver reaches the policy on the main side', async () => {
    await page.getByTestId('policy-mode').selectOption('saver');
    // Saver sits at s1 with nothing pressing and a rung coarser per pressure: on a machine busy with other
    // work (a CPU above 90%) that is s2 or s3. Never the finest.
    await page.getByTestId('current-scale').filter({ hasText: /Current scale: s[1-3] / }).waitFor({ timeout: 5000 });
    await page.getByTestId('policy-mode').selectOption('fixed');
    await page.getByTestId('fixed-scale').selectOption('s3');
    await page.getByTestId('current-scale').filter({ hasText: /Current scale: s3/ }).waitFor({ timeout: 5000 });
  });

  await t.test('a screenshot is written and nothing was blocked by the CSP', async () => {
    await page.screenshot({ path: join(testOutputDirectory('e2e'), 'status-page.png'), fullPage: true });
    assert.deepEqual(consoleProblems, []);
  });
});
