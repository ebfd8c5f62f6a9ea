import { startCameraMouthStream, type CameraMouthState } from '../lib/live/camera-mouth.js';

/**
 * A bare page that runs camera → mouth crops alone (not part of the app), so
 * test/e2e/camera-mouth.test.ts can check the module in a real browser with a fake camera.
 * Query: roi (crop side, default 88), seconds (how long to record after the first frame,
 * default 3), end=unplug (then end the camera as an unplugged one would, instead of stop()).
 * Everything it saw goes to window.cameraCheck; `done` turns true at the end.
 */

interface CameraCheckReport {
  backend: string | undefined;
  /** Every state the module reported, in order. */
  states: CameraMouthState[];
  /** Every frame: its time and the crop's length, or null where no face was tracked. */
  frames: { timeMs: number; roiBytes: number | null }[];
  /** Frames that still arrived after the camera ended (should be none). */
  framesAfterEnd: number;
  /** The last crop's pixels, row by row, and the same enlarged as a PNG data URL. */
  lastCrop: number[] | undefined;
  cropDataUrl: string | undefined;
  violations: string[];
  errors: string[];
  done: boolean;
}

declare global {
  interface Window {
    cameraCheck?: CameraCheckReport;
  }
}

const report: CameraCheckReport = { backend: undefined, states: [], frames: [], framesAfterEnd: 0, lastCrop: undefined, cropDataUrl: undefined, violations: [], errors: [], done: false };
window.cameraCheck = report;

document.addEventListener('securitypolicyviolation', (event) => report.violations.push(`${event.violatedDirective} blocked ${event.blockedURI} at ${event.sourceFile}:${event.lineNumber}:${event.columnNumber}`));

const query = new URLSearchParams(location.search);
const roiSize = Number(query.get('roi') ?? 88);
const seconds = Number(query.get('seconds') ?? 3);
const unplug = query.get('end') === 'unplug';

function show(id: string, text: string): void {
  const element = document.getElementById(id);
  if (element) element.textContent = text;
}

/** The crop as a PNG, each pixel a 3×3 block so a person can see the lips. */
function cropToDataUrl(roi: Uint8Array, size: number): string {
  const small = document.createElement('canvas');
  small.width = size;
  small.height = size;
  const image = new ImageData(size, size);
  roi.forEach((value, index) => image.data.set([value, value, value, 255], index * 4));
  small.getContext('2d')?.putImageData(image, 0, 0);
  const large = document.createElement('canvas');
  large.width = size * 3;
  large.height = size * 3;
  const context = large.getContext('2d');
  if (!context) return '';
  context.imageSmoothingEnabled = false;
  context.drawImage(small, 0, 0, large.width, large.height);
  return large.toDataURL('image/png');
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function run(): Promise<void> {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480, frameRate: 25 }, audio: false });
  let ended = false;
  // Recording starts at the first frame, or ends at once when the module gives up.
  let started: () => void = () => undefined;
  const startedOrFailed = new Promise<void>((resolve) => (started = resolve));
  const camera = await startCameraMouthStream({
    stream,
    roiSize,
    // The app page sits next to face-models/; this test page is one folder down.
    modelBaseUrl: '../face-models',
    startedAtMs: performance.now(),
    onFrame: (timeMs, roi) => {
      if (ended) report.framesAfterEnd += 1;
      report.frames.push({ timeMs, roiBytes: roi ? roi.length : null });
      if (roi) {
        report.lastCrop = Array.from(roi);
        report.cropDataUrl = cropToDataUrl(roi, roiSize);
      }
      started();
    },
    onState: (state) => {
      report.states.push(state);
      show('state', state.kind);
      if (state.kind === 'error') {
        report.errors.push(state.message);
        started();
      }
    },
  });
  report.backend = camera.backend;
  show('backend', camera.backend);
  await startedOrFailed;
  if (report.errors.length > 0) return;
  await delay(seconds * 1000);
  if (unplug) {
    // A stopped track fires no 'ended' of its own (only the browser ending it does), so say it.
    const [track] = stream.getVideoTracks();
    track?.stop();
    track?.dispatchEvent(new Event('ended'));
  } else {
    camera.stop();
  }
  ended = true;
  await delay(500);
  stream.getTracks().forEach((track) => track.stop());
}

run()
  .catch((error: unknown) => report.errors.push(error instanceof Error ? error.message : String(error)))
  .finally(() => {
    const crop = document.getElementById('crop');
    if (crop instanceof HTMLImageElement && report.cropDataUrl) crop.src = report.cropDataUrl;
    const withFace = report.frames.filter((frame) => frame.roiBytes !== null).length;
    show('summary', `${report.frames.length} frames, ${withFace} with a face, states: ${report.states.map((state) => state.kind).join(' → ')}`);
    report.done = true;
  });
