import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { before, test, type TestContext } from 'node:test';
import { build } from 'vite';
import { rendererContentSecurityPolicy } from '../../electron/ipc/content-security-policy.js';
import { FaceLandmarker, faceModelDirectory, MouthRoiTracker } from '../../electron/media/mouth-roi.js';
import type { ConsoleMessage } from 'playwright-core';
import { launchChromium, projectRoot, testOutputDirectory } from '../support/browser.js';

/**
 * The renderer's camera → mouth crops module in Debian's Chromium, built as the app ships it
 * (the same Vite config, plus the test-only pages): a fake camera plays a real face photo (or a
 * face-less gradient), the bare camera-check page runs startCameraMouthStream, and the page is
 * served with the app's CSP header, so a fetch off the origin or an eval in TensorFlow.js would
 * show as a violation.
 */

const rendererDirectory = join(projectRoot, 'test-output', 'renderer-test-pages');

before(async () => {
  await build({ configFile: join(projectRoot, 'vite.config.ts'), mode: 'test-pages', logLevel: 'warn' });
});
const roiSize = 88;
const recordSeconds = 3;

/** What renderer/test-pages/camera-check.ts leaves in window.cameraCheck. */
interface CameraCheckReport {
  backend: string | undefined;
  states: { kind: string }[];
  frames: { timeMs: number; roiBytes: number | null }[];
  framesAfterEnd: number;
  lastCrop: number[] | undefined;
  cropDataUrl: string | undefined;
  violations: string[];
  errors: string[];
  done: boolean;
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.bin': 'application/octet-stream',
  '.svg': 'image/svg+xml',
};

interface Renderer {
  origin: string;
  /** CSP violation reports the browser posted, from the page and from its workers. */
  violations: string[];
}

/**
 * dist/renderer with the app's CSP header, as the browser host and the Electron shell send it,
 * plus a report-uri: the face model runs in a worker, whose violations the page never hears of.
 */
async function serveRenderer(t: TestContext): Promise<Renderer> {
  const violations: string[] = [];
  const server: Server = createServer((request, response) => {
    if (request.method === 'POST' && request.url === '/csp-report') {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        violations.push(Buffer.concat(chunks).toString('utf8'));
        response.writeHead(204).end();
      });
      return;
    }
    const path = normalize(join(rendererDirectory, decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname)));
    let body: Buffer;
    try {
      if (!path.startsWith(rendererDirectory + sep)) throw new Error('outside');
      body = readFileSync(path);
    } catch {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, {
      'Content-Type': contentTypes[extname(path)] ?? 'application/octet-stream',
      'Content-Security-Policy': `${rendererContentSecurityPolicy}; report-uri /csp-report`,
    });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, violations };
}

function scratch(t: TestContext): string {
  const directory = mkdtempSync(join(tmpdir(), 'nestcap-camera-'));
  t.after(() => rmSync(directory, { recursive: true, force: true }));
  return directory;
}

/** The package's own sample6.jpg, one face cropped out, on a 640×480 webcam picture. */
const facePhoto = ['-loop', '1', '-framerate', '25', '-i', join(faceModelDirectory(), '..', 'demo', 'sample6.jpg')];
const faceFilter = 'crop=540:720:530:220,scale=360:480,pad=640:480:140:0:gray';

function ffmpeg(args: string[]): Buffer {
  return execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args], { maxBuffer: 64 * 1024 * 1024 });
}

/** A fake camera file: Chromium plays a .y4m in a loop. */
function cameraFile(directory: string, withFace: boolean): string {
  const path = join(directory, withFace ? 'face.y4m' : 'gradient.y4m');
  const input = withFace
    ? [...facePhoto, '-vf', faceFilter]
    : ['-f', 'lavfi', '-i', "nullsrc=size=640x480:rate=25,geq=lum='32+160*X/W':cb=128:cr=128"];
  ffmpeg([...input, '-t', '3', '-pix_fmt', 'yuv420p', path]);
  return path;
}

interface CheckRun {
  report: CameraCheckReport;
  consoleErrors: string[];
  screenshot: Buffer;
}

async function runCameraCheck({ origin }: Renderer, camera: string, query: string): Promise<CheckRun> {
  const browser = await launchChromium(['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${camera}`]);
  try {
    const page = await browser.newPage();
    const consoleErrors: string[] = [];
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    const collect = (message: ConsoleMessage) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    };
    page.on('console', collect);
    page.on('worker', (worker) => worker.on('console', collect));
    await page.goto(`${origin}/test-pages/camera-check.html?roi=${roiSize}&seconds=${recordSeconds}&${query}`);
    // These run in the page (serialised, so no helpers from here); the test's tsconfig has no DOM, hence globalThis.
    await page.waitForFunction(() => (globalThis as { cameraCheck?: CameraCheckReport }).cameraCheck?.done === true, undefined, { timeout: 90_000, polling: 200 });
    const report = await page.evaluate(() => (globalThis as { cameraCheck?: CameraCheckReport }).cameraCheck!);
    return { report, consoleErrors, screenshot: await page.screenshot({ fullPage: true }) };
  } finally {
    await browser.close();
  }
}

/** Frames per second by their capture times (NaN when fewer than two frames came). */
function frameRate(frames: CameraCheckReport['frames']): number {
  if (frames.length < 2) return Number.NaN;
  const first = frames[0]!.timeMs;
  const last = frames.at(-1)!.timeMs;
  return ((frames.length - 1) * 1000) / (last - first);
}

function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const mean = (values: ArrayLike<number>) => Array.from(values).reduce((sum, value) => sum + value, 0) / values.length;
  const meanA = mean(a);
  const meanB = mean(b);
  let both = 0;
  let onlyA = 0;
  let onlyB = 0;
  for (let index = 0; index < a.length; index += 1) {
    both += (a[index]! - meanA) * (b[index]! - meanB);
    onlyA += (a[index]! - meanA) ** 2;
    onlyB += (b[index]! - meanB) ** 2;
  }
  return both / Math.sqrt(onlyA * onlyB);
}

/** The crop the main process makes of the same picture (320×240 gray, as the renderer scales it). */
async function mainProcessCrop(): Promise<Uint8Array> {
  const [width, height] = [320, 240];
  const pixels = new Uint8Array(ffmpeg([...facePhoto, '-frames:v', '1', '-vf', `${faceFilter},scale=${width}:${height},format=gray`, '-f', 'rawvideo', 'pipe:1']));
  const landmarker = await FaceLandmarker.load();
  try {
    const tracker = new MouthRoiTracker(landmarker, { roiSize, detectEvery: 1 });
    const roi = await tracker.track({ timeSeconds: 0, width, height, pixels });
    assert.ok(roi, 'the main process finds the face in the same picture');
    return roi.pixels;
  } finally {
    landmarker.dispose();
  }
}

test('a face in front of the camera gives mouth crops at 25 fps in the browser, with the app CSP', async (t) => {
  const renderer = await serveRenderer(t);
  const { report, consoleErrors, screenshot } = await runCameraCheck(renderer, cameraFile(scratch(t), true), 'end=unplug');
  const output = testOutputDirectory('e2e');
  writeFileSync(join(output, 'camera-check-face.png'), screenshot);
  writeFileSync(join(output, 'camera-check-face.json'), JSON.stringify({ ...report, lastCrop: undefined, cropDataUrl: undefined }, null, 1));
  if (report.cropDataUrl) writeFileSync(join(output, 'camera-mouth-crop.png'), Buffer.from(report.cropDataUrl.replace(/^data:image\/png;base64,/, ''), 'base64'));

  const withFace = report.frames.filter((frame) => frame.roiBytes !== null);
  const fps = frameRate(report.frames);
  t.diagnostic(`backend ${report.backend}; ${report.frames.length} frames at ${fps.toFixed(1)} fps; ${withFace.length} with a face (${((100 * withFace.length) / report.frames.length).toFixed(0)}%)`);
  assert.deepEqual(report.errors, []);
  assert.deepEqual([...report.violations, ...renderer.violations], [], 'no CSP violation');
  assert.deepEqual(consoleErrors, []);
  assert.ok(report.backend === 'webgl' || report.backend === 'cpu', `backend ${report.backend}`);

  await t.test('frames come at about 25 per second, nearly all with a crop of the size asked for', () => {
    assert.ok(report.frames.length >= 25 * recordSeconds * 0.8, `${report.frames.length} frames in ${recordSeconds} s`);
    // Timer ticks a starved page misses are frames lost, so a busy machine lands below 25.
    assert.ok(fps > 20 && fps < 26, `${fps.toFixed(1)} fps`);
    assert.ok(withFace.length >= report.frames.length * 0.9, `${withFace.length} of ${report.frames.length} frames with a face`);
    assert.ok(withFace.every((frame) => frame.roiBytes === roiSize * roiSize));
  });

  await t.test('the crop is the one the main process makes of the same picture', async () => {
    assert.ok(report.lastCrop);
    const r = correlation(report.lastCrop, await mainProcessCrop());
    t.diagnostic(`correlation with the main process's crop: ${r.toFixed(3)}`);
    assert.ok(r > 0.9, `correlation ${r.toFixed(3)}`);
  });

  await t.test('an unplugged camera ends the stream, and no frame comes after', () => {
    assert.deepEqual(
      report.states.map((state) => state.kind),
      ['loading-model', 'face', 'ended'],
    );
    assert.equal(report.framesAfterEnd, 0);
  });
});

test('a camera with no face in view says so and sends frames without crops', async (t) => {
  const renderer = await serveRenderer(t);
  const { report, consoleErrors, screenshot } = await runCameraCheck(renderer, cameraFile(scratch(t), false), 'end=stop');
  writeFileSync(join(testOutputDirectory('e2e'), 'camera-check-no-face.png'), screenshot);
  t.diagnostic(`backend ${report.backend}; ${report.frames.length} frames at ${frameRate(report.frames).toFixed(1)} fps`);
  assert.deepEqual(report.errors, []);
  assert.deepEqual([...report.violations, ...renderer.violations], []);
  assert.deepEqual(consoleErrors, []);
  assert.deepEqual(
    report.states.map((state) => state.kind),
    ['loading-model', 'no-face'],
  );
  assert.ok(report.frames.length >= 25 * recordSeconds * 0.8, `${report.frames.length} frames`);
  assert.ok(report.frames.every((frame) => frame.roiBytes === null));
  assert.equal(report.framesAfterEnd, 0);
});
