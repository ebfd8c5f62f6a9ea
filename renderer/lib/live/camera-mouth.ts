// mouth-tracking.ts is pure code (no Node, no DOM) written to be shared with the renderer.
// eslint-disable-next-line no-restricted-imports
import { defaultDetectEvery, MouthRoiTracker, type GrayFrame, type MouthFinder, type MouthLandmarks } from '../../../electron/media/mouth-tracking.js';
import type { FaceWorkerRequest, FaceWorkerResponse } from './face-worker.js';

/**
 * Camera frames to mouth crops in the renderer, for live lip reading: the same face-api tiny
 * detector and landmarks as the main process uses for files, run by TensorFlow.js on WebGL
 * (CPU where WebGL is missing; the WebAssembly backend would need 'wasm-unsafe-eval' in the
 * CSP) in a worker. The weights are copied from the npm package into the built renderer at
 * build time and load from the page's own origin. The worker, with face-api in it, starts
 * only when the camera is switched on.
 *
 * The page crops every frame at once with the current mouth box; detection runs in the worker
 * on every 5th frame, or less often when a detection takes longer than five frames, and moves
 * the box when it answers. A slow machine gets a box that follows the head later, never fewer
 * frames.
 */

export type CameraMouthState =
  | { readonly kind: 'loading-model' }
  | { readonly kind: 'face' }
  | { readonly kind: 'no-face' }
  | { readonly kind: 'ended'; readonly reason: string }
  | { readonly kind: 'error'; readonly message: string };

export interface CameraMouthStream {
  /** The TensorFlow.js backend that runs the face model: 'webgl' or 'cpu' ('none' when it did not start). */
  readonly backend: string;
  stop(): void;
}

export interface CameraMouthOptions {
  /** From getUserMedia({ video }); its first video track is read. */
  readonly stream: MediaStream;
  /** Side of the square crop the model bundle wants. */
  readonly roiSize: number;
  /** Where the built renderer keeps the face-api weights, relative to the page. Default './face-models'. */
  readonly modelBaseUrl?: string;
  /** performance.now() at the session's start: frame times are relative to it. */
  readonly startedAtMs: number;
  /** 25 times a second, in capture order; roi is roiSize² gray bytes, undefined when no face is tracked. */
  readonly onFrame: (timeMs: number, roi: Uint8Array | undefined) => void;
  readonly onState: (state: CameraMouthState) => void;
}

/** The rate the video encoder expects (as decode-video.ts's videoFrameRate, which the renderer cannot import). */
const framesPerSecond = 25;
/** Detection cost grows with pixels and accuracy hardly does: frames are scaled to fit this. */
const detectionSide = 320;
/** How long a camera may take to show its first picture. */
const firstFrameTimeoutMs = 10_000;

export async function startCameraMouthStream(options: CameraMouthOptions): Promise<CameraMouthStream> {
  options.onState({ kind: 'loading-model' });
  // The model loads in the worker while the camera starts.
  const [worker, grabber] = await Promise.allSettled([FaceWorker.start(new URL(options.modelBaseUrl ?? './face-models', document.baseURI).href), FrameGrabber.open(options.stream)]);
  const fail = (what: string, error: unknown): CameraMouthStream => {
    if (worker.status === 'fulfilled') worker.value.stop();
    if (grabber.status === 'fulfilled') grabber.value.close();
    options.onState({ kind: 'error', message: `${what}, so captions use audio only: ${describe(error)}` });
    return { backend: worker.status === 'fulfilled' ? worker.value.backend : 'none', stop: () => undefined };
  };
  if (worker.status === 'rejected') return fail('The face model could not load', worker.reason);
  if (grabber.status === 'rejected') return fail('The camera picture could not be read', grabber.reason);
  const tracker = new MouthRoiTracker(worker.value, { roiSize: options.roiSize });
  try {
    // The first detection compiles the model's shaders (seconds under software WebGL): done
    // here, while the state still says loading, so the frames that follow are not held up.
    const first = await grabber.value.firstFrame(firstFrameTimeoutMs);
    await tracker.detect(first);
  } catch (error) {
    return fail('The face model could not start', error);
  }
  const session = new CameraMouthSession(options, worker.value, grabber.value, tracker);
  return { backend: worker.value.backend, stop: () => session.stop() };
}

interface PendingRequest {
  resolve(response: FaceWorkerResponse): void;
  reject(error: Error): void;
}

/** The face model in its worker, as a MouthFinder that answers one detection at a time. */
class FaceWorker implements MouthFinder {
  readonly #worker: Worker;
  #pending: PendingRequest | undefined;
  backend = 'none';

  private constructor() {
    this.#worker = new Worker(new URL('./face-worker.ts', import.meta.url), { type: 'module', name: 'nestcap-face' });
    this.#worker.onmessage = (event: MessageEvent<FaceWorkerResponse>) => this.#settle((pending) => pending.resolve(event.data));
    // A worker script that fails to load or throws at the top reports here, not as a message.
    this.#worker.onerror = (event) => this.#settle((pending) => pending.reject(new Error(event.message || 'the face worker failed to start')));
  }

  static async start(modelBaseUrl: string): Promise<FaceWorker> {
    const face = new FaceWorker();
    try {
      const ready = await face.#request({ type: 'load', modelBaseUrl });
      if (ready.type !== 'ready') throw new Error(ready.type === 'error' ? ready.message : `the face worker answered ${ready.type}`);
      face.backend = ready.backend;
      return face;
    } catch (error) {
      face.stop();
      throw error;
    }
  }

  async findMouth(frame: GrayFrame): Promise<MouthLandmarks | undefined> {
    // The worker gets its own copy: the page goes on cropping from the frame meanwhile.
    const pixels = frame.pixels.slice();
    const response = await this.#request({ type: 'detect', frame: { ...frame, pixels } }, [pixels.buffer]);
    if (response.type === 'error') throw new Error(response.message);
    if (response.type !== 'mouth') throw new Error(`the face worker answered ${response.type}`);
    return response.mouth;
  }

  /** Ends the worker, freeing the model (on the GPU under WebGL); a detection in flight fails. */
  stop(): void {
    this.#worker.terminate();
    this.#settle((pending) => pending.reject(new Error('the face worker was stopped')));
  }

  #request(request: FaceWorkerRequest, transfer: Transferable[] = []): Promise<FaceWorkerResponse> {
    if (this.#pending) return Promise.reject(new Error('the face worker is busy'));
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.#worker.postMessage(request, transfer);
    });
  }

  #settle(action: (pending: PendingRequest) => void): void {
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending) action(pending);
  }
}

/** Draws the playing camera into a small canvas and reads it back as gray pixels. */
class FrameGrabber {
  readonly #video: HTMLVideoElement;
  readonly #context: CanvasRenderingContext2D;

  private constructor(video: HTMLVideoElement, context: CanvasRenderingContext2D) {
    this.#video = video;
    this.#context = context;
  }

  static async open(stream: MediaStream): Promise<FrameGrabber> {
    const context = document.createElement('canvas').getContext('2d', { willReadFrequently: true });
    if (!context) throw new Error('no 2D canvas');
    // Off the DOM: the live view shows its own preview, and a muted inline video may autoplay.
    const video = document.createElement('video');
    video.muted = true;
    video.playsInline = true;
    video.srcObject = stream;
    await video.play();
    return new FrameGrabber(video, context);
  }

  /** The current picture, or undefined before the camera's first frame. */
  grab(timeSeconds: number): GrayFrame | undefined {
    const video = this.#video;
    if (video.videoWidth === 0 || video.videoHeight === 0) return undefined;
    const scale = Math.min(1, detectionSide / Math.max(video.videoWidth, video.videoHeight));
    const width = Math.max(1, Math.round(video.videoWidth * scale));
    const height = Math.max(1, Math.round(video.videoHeight * scale));
    const canvas = this.#context.canvas;
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    this.#context.drawImage(video, 0, 0, width, height);
    return { timeSeconds, width, height, pixels: toGray(this.#context.getImageData(0, 0, width, height).data) };
  }

  async firstFrame(timeoutMs: number): Promise<GrayFrame> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const frame = this.grab(0);
      if (frame) return frame;
      if (performance.now() > deadline) throw new Error(`no picture from the camera within ${timeoutMs / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 1000 / framesPerSecond));
    }
  }

  close(): void {
    this.#video.pause();
    this.#video.srcObject = null;
  }
}

/** Luma from RGBA with BT.601 weights, as ffmpeg's gray conversion of files. */
function toGray(rgba: Uint8ClampedArray): Uint8Array {
  const pixels = new Uint8Array(rgba.length / 4);
  for (let index = 0; index < pixels.length; index += 1) {
    const offset = index * 4;
    pixels[index] = Math.round(0.299 * rgba[offset]! + 0.587 * rgba[offset + 1]! + 0.114 * rgba[offset + 2]!);
  }
  return pixels;
}

/** One running camera: a 25 fps timer crops every frame and starts detections in the background. */
class CameraMouthSession {
  readonly #options: CameraMouthOptions;
  readonly #worker: FaceWorker;
  readonly #grabber: FrameGrabber;
  readonly #tracker: MouthRoiTracker;
  readonly #track: MediaStreamTrack | undefined;
  readonly #timer: ReturnType<typeof setInterval>;
  #detecting = false;
  #framesSinceDetection = 0;
  #stopped = false;
  #lastFace: boolean | undefined;

  constructor(options: CameraMouthOptions, worker: FaceWorker, grabber: FrameGrabber, tracker: MouthRoiTracker) {
    this.#options = options;
    this.#worker = worker;
    this.#grabber = grabber;
    this.#tracker = tracker;
    this.#track = options.stream.getVideoTracks()[0];
    this.#track?.addEventListener('ended', this.#onEnded);
    this.#timer = setInterval(() => this.#tick(), 1000 / framesPerSecond);
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#track?.removeEventListener('ended', this.#onEnded);
    this.#grabber.close();
    this.#worker.stop();
  }

  readonly #onEnded = () => {
    if (this.#stopped) return;
    this.stop();
    this.#options.onState({ kind: 'ended', reason: 'The camera stopped sending pictures (unplugged, or taken by another app).' });
  };

  #tick(): void {
    const timeMs = performance.now() - this.#options.startedAtMs;
    const frame = this.#grabber.grab(timeMs / 1000);
    if (frame === undefined || this.#stopped) return;
    const roi = this.#tracker.crop(frame)?.pixels;
    this.#options.onFrame(timeMs, roi);
    this.#reportFace(roi !== undefined);
    this.#framesSinceDetection += 1;
    if (this.#framesSinceDetection >= defaultDetectEvery && !this.#detecting) this.#detect(frame);
  }

  #detect(frame: GrayFrame): void {
    this.#detecting = true;
    this.#framesSinceDetection = 0;
    this.#tracker.detect(frame).then(
      () => (this.#detecting = false),
      (error: unknown) => {
        if (this.#stopped) return;
        this.stop();
        this.#options.onState({ kind: 'error', message: `Lip reading stopped, captions go on from audio: ${describe(error)}` });
      },
    );
  }

  #reportFace(face: boolean): void {
    if (face === this.#lastFace) return;
    this.#lastFace = face;
    this.#options.onState(face ? { kind: 'face' } : { kind: 'no-face' });
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
