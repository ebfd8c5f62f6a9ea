import { findMouthWithFaceApi, MouthRoiTracker, type FaceApiNets, type GrayFrame, type MouthFinder } from '../../../electron/media/mouth-tracking.js';

/**
 * Camera frames to mouth crops in the renderer, for live lip reading: the same face-api tiny
 * detector and landmarks as the main process uses for files, run by TensorFlow.js on WebGL
 * (CPU where WebGL is missing; the WebAssembly backend would need 'wasm-unsafe-eval' in the
 * CSP). The weights are copied from the npm package into the built renderer at build time and
 * load from the page's own origin. Face-api is imported only when the camera is switched on.
 */

export type CameraMouthState =
  | { readonly kind: 'loading-model' }
  | { readonly kind: 'face' }
  | { readonly kind: 'no-face' }
  | { readonly kind: 'ended'; readonly reason: string }
  | { readonly kind: 'error'; readonly message: string };

export interface CameraMouthStream {
  /** The TensorFlow.js backend that runs the face model. */
  readonly backend: string;
  stop(): void;
}

export interface CameraMouthOptions {
  readonly stream: MediaStream;
  /** Side of the square crop the model bundle wants. */
  readonly roiSize: number;
  /** Where the built renderer keeps the face-api weights. */
  readonly modelBaseUrl?: string;
  /** performance.now() at the session's start: frame times are relative to it. */
  readonly startedAtMs: number;
  readonly onFrame: (timeMs: number, roi: Uint8Array | undefined) => void;
  readonly onState: (state: CameraMouthState) => void;
}

const framesPerSecond = 25;
/** Detection cost grows with pixels and accuracy hardly does: frames are scaled to fit this. */
const detectionSide = 320;

interface BackendControl {
  setBackend(name: string): Promise<boolean>;
  getBackend(): string;
  ready(): Promise<void>;
}

async function loadNets(modelBaseUrl: string): Promise<{ nets: FaceApiNets; backend: string }> {
  const faceapi = await import('@vladmandic/face-api/dist/face-api.esm.js');
  const tf = faceapi.tf as unknown as BackendControl;
  let backend = 'webgl';
  if (!(await tf.setBackend('webgl').catch(() => false))) {
    backend = 'cpu';
    await tf.setBackend('cpu');
  }
  await tf.ready();
  const detector = new faceapi.TinyFaceDetector();
  const landmarks = new faceapi.FaceLandmark68TinyNet();
  await detector.loadFromUri(modelBaseUrl);
  await landmarks.loadFromUri(modelBaseUrl);
  const detectorOptions = new faceapi.TinyFaceDetectorOptions({ inputSize: 224, scoreThreshold: 0.5 });
  return { nets: { faceapi: faceapi as unknown as FaceApiNets['faceapi'], detector, landmarks, detectorOptions } as FaceApiNets, backend: tf.getBackend() || backend };
}

/** Luma from RGBA (BT.601 weights, as ffmpeg's gray conversion for files). */
function toGray(rgba: Uint8ClampedArray, width: number, height: number, timeSeconds: number): GrayFrame {
  const pixels = new Uint8Array(width * height);
  for (let index = 0; index < pixels.length; index += 1) {
    const offset = index * 4;
    pixels[index] = Math.round(0.299 * rgba[offset]! + 0.587 * rgba[offset + 1]! + 0.114 * rgba[offset + 2]!);
  }
  return { width, height, pixels, timeSeconds };
}

export async function startCameraMouthStream(options: CameraMouthOptions): Promise<CameraMouthStream> {
  options.onState({ kind: 'loading-model' });
  let loaded: Awaited<ReturnType<typeof loadNets>>;
  try {
    loaded = await loadNets(options.modelBaseUrl ?? './face-models');
  } catch (error) {
    options.onState({ kind: 'error', message: `The face model could not load, so captions use audio only: ${error instanceof Error ? error.message : String(error)}` });
    return { backend: 'none', stop: () => undefined };
  }
  const finder: MouthFinder = { findMouth: (frame) => findMouthWithFaceApi(loaded.nets, frame) };
  const tracker = new MouthRoiTracker(finder, { roiSize: options.roiSize });

  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.srcObject = options.stream;
  await video.play();
  const canvas = document.createElement('canvas');
  const context = canvas.getContext('2d', { willReadFrequently: true });
  if (!context) throw new Error('no 2D canvas for camera frames');

  let stopped = false;
  let busy = false;
  let lastFace: boolean | undefined;
  const [track] = options.stream.getVideoTracks();
  track?.addEventListener('ended', () => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    options.onState({ kind: 'ended', reason: 'the camera stopped sending pictures' });
  });

  const sample = async () => {
    // A frame still being analysed is not queued behind: the next tick takes a fresh one.
    if (stopped || busy || video.videoWidth === 0) return;
    busy = true;
    try {
      const scale = Math.min(1, detectionSide / Math.max(video.videoWidth, video.videoHeight));
      const width = Math.max(1, Math.round(video.videoWidth * scale));
      const height = Math.max(1, Math.round(video.videoHeight * scale));
      if (canvas.width !== width || canvas.height !== height) {
        canvas.width = width;
        canvas.height = height;
      }
      const timeMs = performance.now() - options.startedAtMs;
      context.drawImage(video, 0, 0, width, height);
      const frame = toGray(context.getImageData(0, 0, width, height).data, width, height, timeMs / 1000);
      const roi = await tracker.track(frame);
      if (stopped) return;
      options.onFrame(timeMs, roi?.pixels);
      const face = roi !== undefined;
      if (face !== lastFace) options.onState(face ? { kind: 'face' } : { kind: 'no-face' });
      lastFace = face;
    } catch (error) {
      options.onState({ kind: 'error', message: `Lip reading stopped: ${error instanceof Error ? error.message : String(error)}` });
      stopped = true;
      clearInterval(timer);
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void sample(), 1000 / framesPerSecond);

  return {
    backend: loaded.backend,
    stop() {
      stopped = true;
      clearInterval(timer);
      video.pause();
      video.srcObject = null;
    },
  };
}
