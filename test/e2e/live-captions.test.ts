import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { wordErrorRate } from '../../electron/engine/word-error-rate.js';
import type { LiveSessionInfo } from '../../electron/ipc/contract.js';
import { startBrowserHost } from '../../electron/host/browser-host.js';
import { openDatabase } from '../../electron/store/database.js';
import { transcriptSegments } from '../../electron/store/segments.js';
import { generateEvaluationCorpus, layOutTimeline, readCorpusSplit } from '../support/av-corpus.js';
import { launchChromium, projectRoot, testOutputDirectory } from '../support/browser.js';
import { waitUntil } from '../support/wait.js';
import { testBundleDirectory } from '../support/bundle.js';
import * as ort from 'onnxruntime-node';
import { loadBundle } from '../../electron/engine/bundle.js';
import { CaptionEngine } from '../../electron/engine/caption-engine.js';
import { Recognizer } from '../../electron/engine/recognizer.js';
import { VoiceActivityDetector } from '../../electron/engine/voice-activity.js';
import { liveSegmenterDefaults } from '../../electron/live/live-captioner.js';
import { createServicesFixture } from '../support/services.js';
import { faceModelDirectory } from '../../electron/media/mouth-roi.js';

/**
 * Live captions end to end: Chromium's fake microphone plays generated speech into the real
 * capture worklet, frames cross the browser host's WebSocket to the real engine, and the live
 * view and the overlay show what comes back.
 */

function wavBytes(samples: Float32Array, sampleRate: number): Buffer {
  const data = Buffer.alloc(samples.length * 2);
  samples.forEach((sample, index) => data.writeInt16LE(Math.round(Math.max(-1, Math.min(1, sample)) * 32767), index * 2));
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

const manifestRoi = 32;
const corpus = join(projectRoot, 'test-output', 'engine-corpus', `roi${manifestRoi}`);
mkdirSync(join(corpus, '..'), { recursive: true });
generateEvaluationCorpus(corpus, { seed: 777, seen: 8, heldout: 0, roi: manifestRoi });
// Three phrases, then a long silence: Chromium loops the file, and the test reads the first pass.
const timeline = layOutTimeline(readCorpusSplit(corpus, 'eval_seen', manifestRoi).slice(0, 3), 1.2);
const withTail = new Float32Array(timeline.pcm.length + 16000 * 8);
withTail.set(timeline.pcm, 16000);
const audioFile = join(testOutputDirectory('e2e'), 'live-speech.wav');
writeFileSync(audioFile, wavBytes(withTail, 16000));

test('live captions from a real (fake-device) microphone through the browser host', async (t) => {
  const fixture = createServicesFixture();
  t.after(() => fixture.dispose());
  // A fixed scale makes the WER comparable with the bundle's evaluation on any machine load.
  const fixed = await fixture.services.dispatch('monitor.setMode', { mode: 'fixed', fixedScaleId: 's0' });
  assert.ok(fixed.ok);
  const host = await startBrowserHost({
    services: fixture.services,
    rendererDirectory: join(projectRoot, 'dist', 'renderer'),
    logger: { info() {}, warn() {}, error() {} },
  });
  t.after(() => host.close());
  const browser = await launchChromium(['--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${audioFile}`]);
  t.after(() => browser.close());

  const context = await browser.newContext();
  await context.grantPermissions(['microphone', 'camera'], { origin: host.origin });
  // Keeps every stream the page opens within the test's reach, to "unplug" the microphone below.
  await context.addInitScript(`{
    const open = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = async (constraints) => {
      const stream = await open(constraints);
      (window.openedStreams ??= []).push(stream);
      return stream;
    };
  }`);
  const page = await context.newPage();
  const consoleProblems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') consoleProblems.push(message.text());
  });
  page.on('pageerror', (error) => consoleProblems.push(error.message));
  await page.goto(host.url);
  await page.getByTestId('connection-state').filter({ hasText: 'Connected' }).waitFor();

  const partialTexts = new Set<string>();
  await t.test('finals arrive for every phrase, partials update while it is spoken', async () => {
    await page.getByTestId('live-start').click();
    await page.getByTestId('mic-state').and(page.locator('[data-state="on"]')).waitFor({ timeout: 10_000 });
    const deadline = Date.now() + 40_000;
    while ((await page.getByTestId('live-final').count()) < timeline.speech.length && Date.now() < deadline) {
      const partial = page.getByTestId('live-partial');
      if (await partial.isVisible()) partialTexts.add((await partial.textContent()) ?? '');
      await page.waitForTimeout(100);
    }
    const finals = await page.getByTestId('live-final').locator('.text').allTextContents();
    assert.ok(finals.length >= timeline.speech.length, `only ${finals.length} finals: ${finals.join(' | ')}`);
    t.diagnostic(`${partialTexts.size} distinct partials seen; finals: ${finals.slice(0, 3).join(' | ')}`);
    assert.ok(partialTexts.size >= timeline.speech.length, `partials seen: ${[...partialTexts].join(' | ')}`);

    const wer = wordErrorRate(finals.slice(0, timeline.speech.length).map((hypothesis, index) => ({ reference: timeline.speech[index]!.transcript, hypothesis })));
    // Held to the file engine on the same audio (Chromium's resampler and frame boundaries differ a little).
    const offline = await offlineWer();
    t.diagnostic(`WER of the live finals: ${(wer.rate * 100).toFixed(1)}%; the file engine on the same audio: ${(offline * 100).toFixed(1)}%`);
    assert.ok(wer.rate <= offline + 0.3, `live WER ${(wer.rate * 100).toFixed(1)}% vs the file engine's ${(offline * 100).toFixed(1)}%`);
    assert.equal(await page.getByTestId('live-final').first().getAttribute('data-scale'), 's0');
  });

  await t.test('the overlay window shows the newest captions', async () => {
    const popupPromise = page.waitForEvent('popup');
    await page.getByTestId('overlay-open').click();
    const overlay = await popupPromise;
    await overlay.getByTestId('overlay').waitFor();
    // It opens showing what the live view already shows (captions keep coming, so compare the newest two).
    const lines = await overlay.getByTestId('overlay-line').allTextContents();
    const finals = await page.getByTestId('live-final').locator('.text').allTextContents();
    const partial = (await page.getByTestId('live-partial').isVisible()) ? [(await page.getByTestId('live-partial').textContent()) ?? ''] : [];
    assert.ok(lines.length >= 1 && lines.length <= 2, `the overlay shows at most its 2 lines: ${lines.join(' | ')}`);
    const onScreen = new Set([...finals.slice(-3), ...partial]);
    assert.ok(lines.every((line) => onScreen.has(line) || finals.includes(line)), `overlay ${lines.join(' | ')} vs view ${[...onScreen].join(' | ')}`);
    await overlay.screenshot({ path: join(testOutputDirectory('e2e'), 'live-overlay.png') });
    // In a browser, click-through is refused with a reason (only the desktop shell can do it).
    await page.getByTestId('overlay-controls').getByLabel(/Clicks pass through/).check();
    await page.getByTestId('overlay-controls').getByRole('alert').filter({ hasText: /only in the desktop app/ }).waitFor();
    await page.getByTestId('overlay-controls').getByLabel(/Clicks pass through/).uncheck();
    await page.getByTestId('overlay-close').click();
  });

  await t.test('a microphone unplugged mid-meeting: the view says so, another input continues the same session', async () => {
    const currentSessionId = async () => {
      const current = await fixture.services.dispatch('live.current', {});
      return current.ok ? (current.value as LiveSessionInfo | null)?.sessionId : undefined;
    };
    const sessionBefore = await currentSessionId();
    assert.ok(sessionBefore !== undefined);
    const finalsBefore = await page.getByTestId('live-final').count();
    // What the OS does when a device goes away: the track ends (stop() alone fires no event).
    await page.evaluate(`for (const stream of window.openedStreams) for (const track of stream.getAudioTracks()) { track.stop(); track.dispatchEvent(new Event('ended')); }`);
    await page.getByTestId('mic-state').and(page.locator('[data-state="lost"]')).waitFor({ timeout: 5_000 });
    const problem = page.getByTestId('live-problem');
    assert.equal(await problem.getAttribute('data-kind'), 'no-device');
    assert.match((await problem.textContent()) ?? '', /was disconnected\. Choose another input/);
    await page.screenshot({ path: join(testOutputDirectory('e2e'), 'live-input-disconnected.png'), fullPage: true });

    await page.getByTestId('live-reconnect').click();
    await page.getByTestId('mic-state').and(page.locator('[data-state="on"]')).waitFor({ timeout: 10_000 });
    assert.equal(await problem.count(), 0, 'the problem is cleared');
    await waitUntil(async () => (await page.getByTestId('live-final').count()) > finalsBefore, 'captions continue from the new input', 30_000);
    assert.equal(await currentSessionId(), sessionBefore, 'the same session carries on');
  });

  await t.test('stopping saves the session: every final is in the database', async () => {
    await page.screenshot({ path: join(testOutputDirectory('e2e'), 'live-view.png'), fullPage: true });
    const shown = await page.getByTestId('live-final').locator('.text').allTextContents();
    await page.getByTestId('live-stop').click();
    const summary = await page.getByTestId('live-summary').textContent();
    assert.match(summary ?? '', /Saved \d+ captions/);
    const database = openDatabase(join(fixture.dataDirectory, 'nestcap.sqlite'));
    try {
      const mediaId = (database.prepare("select id from media where content_hash like 'live-%' order by id desc limit 1").get() as { id: number }).id;
      const stored = transcriptSegments(database, mediaId).map((segment) => segment.text);
      assert.ok(stored.length >= shown.length, `${stored.length} stored vs ${shown.length} shown`);
      assert.deepEqual(stored.slice(0, shown.length), shown);
    } finally {
      database.close();
    }
    assert.deepEqual(consoleProblems, []);
  });

  await t.test('a denied microphone permission says so and starts nothing', async () => {
    const denied = await browser.newContext();
    const deniedPage = await denied.newPage();
    await deniedPage.goto(host.url);
    await deniedPage.getByTestId('connection-state').filter({ hasText: 'Connected' }).waitFor();
    await deniedPage.getByTestId('live-start').click();
    const problem = deniedPage.getByTestId('live-problem');
    await problem.waitFor({ timeout: 10_000 });
    assert.equal(await problem.getAttribute('data-kind'), 'permission-denied');
    assert.match((await problem.textContent()) ?? '', /not allowed to use the microphone/);
    assert.equal(await deniedPage.getByTestId('live-start').isEnabled(), true, 'nothing started; the person can try again');
    assert.deepEqual(await fixture.services.dispatch('live.current', {}), { ok: true, value: null });
    await deniedPage.screenshot({ path: join(testOutputDirectory('e2e'), 'live-permission-denied.png') });
    await denied.close();
  });
});

test('a machine with no microphone at all says so and starts nothing', async (t) => {
  const fixture = createServicesFixture();
  t.after(() => fixture.dispose());
  const host = await startBrowserHost({ services: fixture.services, rendererDirectory: join(projectRoot, 'dist', 'renderer'), logger: { info() {}, warn() {}, error() {} } });
  t.after(() => host.close());
  // No fake devices: this machine (a container) has no sound card, so Chromium finds no input.
  const browser = await launchChromium(['--use-fake-ui-for-media-stream']);
  t.after(() => browser.close());
  const page = await browser.newPage();
  await page.goto(host.url);
  await page.getByTestId('connection-state').filter({ hasText: 'Connected' }).waitFor();
  const inputs = await page.evaluate<number>(`navigator.mediaDevices.enumerateDevices().then((devices) => devices.filter((device) => device.kind === 'audioinput').length)`);
  if (inputs > 0) {
    t.skip(`this machine has ${inputs} audio input(s), so "no microphone" cannot be shown here`);
    return;
  }
  await page.getByTestId('live-start').click();
  const problem = page.getByTestId('live-problem');
  await problem.waitFor({ timeout: 10_000 });
  t.diagnostic(`shown: ${await problem.textContent()}`);
  assert.equal(await problem.getAttribute('data-kind'), 'no-device');
  assert.match((await problem.textContent()) ?? '', /No microphone was found/);
  assert.deepEqual(await fixture.services.dispatch('live.current', {}), { ok: true, value: null });
});

/** A fake camera from a real photo that ships with the face model (one face cropped out), or from a blank grey picture. */
function fakeCamera(name: string, withFace: boolean): string {
  const path = join(testOutputDirectory('e2e'), name);
  const input = withFace
    ? ['-loop', '1', '-framerate', '25', '-t', '3', '-i', join(faceModelDirectory(), '..', 'demo', 'sample6.jpg'), '-vf', 'crop=540:720:530:220,scale=360:480']
    : ['-f', 'lavfi', '-i', 'color=c=gray:size=360x480:rate=25:duration=3'];
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', ...input, '-pix_fmt', 'yuv420p', path]);
  return path;
}

test('lip reading from a (fake) camera: a face makes captions audio-visual, no face says so and carries on', async (t) => {
  for (const withFace of [true, false]) {
    const fixture = createServicesFixture();
    await fixture.services.dispatch('monitor.setMode', { mode: 'fixed', fixedScaleId: 's0' });
    const host = await startBrowserHost({ services: fixture.services, rendererDirectory: join(projectRoot, 'dist', 'renderer'), logger: { info() {}, warn() {}, error() {} } });
    const camera = fakeCamera(withFace ? 'camera-face.y4m' : 'camera-blank.y4m', withFace);
    const browser = await launchChromium(['--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${audioFile}`, `--use-file-for-fake-video-capture=${camera}`]);
    try {
      const context = await browser.newContext();
      await context.grantPermissions(['microphone', 'camera'], { origin: host.origin });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(error.message));
      page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
      await page.goto(host.url);
      await page.getByTestId('connection-state').filter({ hasText: 'Connected' }).waitFor();
      await page.getByTestId('camera-toggle').check();
      await page.getByTestId('live-start').click();
      const cameraState = page.getByTestId('camera-state');
      await cameraState.and(page.locator(`[data-state="${withFace ? 'face' : 'no-face'}"]`)).waitFor({ timeout: 30_000 });
      assert.match((await cameraState.textContent()) ?? '', withFace ? /face in view/ : /No face in view: captions continue from audio/);
      // The face model takes seconds to start on a GPU-less machine: the first phrases may run audio-only.
      await page.getByTestId('live-final').nth(3).waitFor({ timeout: 60_000 });
      const modalities = await page.getByTestId('live-final').evaluateAll((elements) => elements.map((element) => (element as { getAttribute(name: string): string | null }).getAttribute('data-modality')));
      t.diagnostic(`${withFace ? 'face' : 'no face'}: final modalities ${modalities.join(', ')}`);
      if (withFace) assert.equal(modalities.at(-1), 'audio-visual', modalities.join(', '));
      else assert.ok(modalities.every((modality) => modality === 'audio'), modalities.join(', '));
      await page.screenshot({ path: join(testOutputDirectory('e2e'), withFace ? 'live-camera-face.png' : 'live-camera-no-face.png'), fullPage: true });
      await page.getByTestId('live-stop').click();
      await page.getByTestId('live-summary').waitFor();
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
      await host.close();
      await fixture.dispose();
    }
  }
});

/** The file engine's WER on the same three phrases, audio only, at the finest scale. */
async function offlineWer(): Promise<number> {
  const bundle = await loadBundle(ort, testBundleDirectory(), { device: 'cpu', autoCandidates: ['cpu'] });
  const vad = await VoiceActivityDetector.create(ort);
  try {
    const texts: string[] = [];
    await new CaptionEngine(new Recognizer(ort, bundle), vad).caption(
      { durationSeconds: timeline.durationSeconds, audio: (async function* () { yield timeline.pcm; })() },
      { chooseScale: () => ({ scaleIndex: 0, reason: 'test' }), decoding: { kind: 'greedy' }, useVideo: false, segmenter: liveSegmenterDefaults, onSegment: (segment) => void texts.push(segment.text) },
    );
    return wordErrorRate(timeline.speech.map((truth, index) => ({ reference: truth.transcript, hypothesis: texts[index] ?? '' }))).rate;
  } finally {
    await vad.release();
    await bundle.release();
  }
}
