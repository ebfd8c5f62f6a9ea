// mouth-tracking.ts is pure code (no Node, no DOM) written to be shared with the renderer.
// eslint-disable-next-line no-restricted-imports
import { findMouthWithFaceApi, type FaceApiNets, type GrayFrame, type MouthLandmarks } from '../../../electron/media/mouth-tracking.js';
import * as faceapi from '@vladmandic/face-api/dist/face-api.esm.js';

/**
 * The face model off the page's main thread: TensorFlow.js blocks while it compiles shaders and
 * reads results back, and on a machine without a real GPU (software WebGL, or the CPU backend)
 * a detection takes hundreds of milliseconds that would starve the 25 fps camera sampling and
 * the captions on screen. The page asks for one detection at a time and gets the mouth back.
 * This file is the worker's entry: face-api and TensorFlow.js are in its bundle, so they load
 * only when the camera is switched on.
 */

export type FaceWorkerRequest =
  /** modelBaseUrl must be absolute: a relative one would resolve against the worker's script. */
  | { readonly type: 'load'; readonly modelBaseUrl: string }
  | { readonly type: 'detect'; readonly frame: GrayFrame };
export type FaceWorkerResponse =
  | { readonly type: 'ready'; readonly backend: string }
  | { readonly type: 'mouth'; readonly mouth: MouthLandmarks | undefined }
  | { readonly type: 'error'; readonly message: string };

/** The part of TensorFlow.js's API that face-api's bundled typings leave out. */
interface BackendControl {
  setBackend(name: string): Promise<boolean>;
  getBackend(): string;
  ready(): Promise<void>;
}

/** The renderer's tsconfig knows the page's globals, not a worker's: only these two are used. */
declare const self: { onmessage: ((event: MessageEvent<FaceWorkerRequest>) => void) | null; postMessage(message: FaceWorkerResponse): void };

type Environment = Parameters<typeof faceapi.env.setEnv>[0];

/**
 * face-api only knows pages and Node, and asks its environment whether an input is an image
 * element even when it is a tensor. In a worker there are no elements: classes nothing is an
 * instance of stand in for them, and the worker's own fetch loads the weights.
 */
function workerEnvironment(): Environment {
  class NoElement {}
  const noElement = NoElement as unknown;
  const unavailable = () => {
    throw new Error('no DOM elements in the face worker');
  };
  return {
    Canvas: OffscreenCanvas as unknown as Environment['Canvas'],
    CanvasRenderingContext2D: OffscreenCanvasRenderingContext2D as unknown as Environment['CanvasRenderingContext2D'],
    Image: noElement as Environment['Image'],
    Video: noElement as Environment['Video'],
    ImageData,
    createCanvasElement: unavailable,
    createImageElement: unavailable,
    createVideoElement: unavailable,
    fetch: (url, init) => fetch(url, init),
    readFile: () => Promise.reject(new Error('no file system in the face worker')),
  };
}

async function chooseBackend(tf: BackendControl): Promise<string> {
  // WebGL through OffscreenCanvas where the GPU allows; setBackend resolves false (or rejects,
  // depending on how WebGL fails) where it does not, and the CPU backend takes over.
  const webgl = await tf.setBackend('webgl').catch(() => false);
  if (!webgl && !(await tf.setBackend('cpu'))) throw new Error('TensorFlow.js could start neither WebGL nor its CPU backend');
  await tf.ready();
  return tf.getBackend();
}

async function load(modelBaseUrl: string): Promise<{ nets: FaceApiNets; backend: string }> {
  faceapi.env.setEnv(workerEnvironment());
  const backend = await chooseBackend(faceapi.tf as unknown as BackendControl);
  const detector = new faceapi.TinyFaceDetector();
  const landmarks = new faceapi.FaceLandmark68TinyNet();
  await Promise.all([detector.loadFromUri(modelBaseUrl), landmarks.loadFromUri(modelBaseUrl)]);
  // The same detector settings as the main process's FaceLandmarker defaults, so files and camera agree.
  const detectorOptions = new faceapi.TinyFaceDetectorOptions({ inputSize: 224, scoreThreshold: 0.5 });
  return { nets: { faceapi, detector, landmarks, detectorOptions }, backend };
}

let loaded: Promise<{ nets: FaceApiNets; backend: string }> | undefined;

async function answer(request: FaceWorkerRequest): Promise<FaceWorkerResponse> {
  if (request.type === 'load') {
    loaded ??= load(request.modelBaseUrl);
    return { type: 'ready', backend: (await loaded).backend };
  }
  if (loaded === undefined) throw new Error('the face model was asked to detect before it was loaded');
  return { type: 'mouth', mouth: await findMouthWithFaceApi((await loaded).nets, request.frame) };
}

self.onmessage = (event) => {
  answer(event.data).then(
    (response) => self.postMessage(response),
    (error: unknown) => self.postMessage({ type: 'error', message: error instanceof Error ? error.message : String(error) }),
  );
};
