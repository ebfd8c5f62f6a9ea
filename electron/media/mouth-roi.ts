import { readFile as readFileFromDisk } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as FaceApiModule from '@vladmandic/face-api/dist/face-api.node-wasm.js';
import type { GrayFrame } from './decode-video.js';

/**
 * Mouth regions of interest from video, using face-api's tiny face detector and its 68-point
 * tiny landmark model. Both weights ship inside the @vladmandic/face-api npm package (model/)
 * and are read from disk here; TensorFlow.js runs them on its WebAssembly backend, whose .wasm
 * files ship inside @tensorflow/tfjs-backend-wasm, so nothing is downloaded or built natively.
 */

type FaceApi = typeof FaceApiModule;
type Tf = FaceApi['tf'];
type TinyFaceDetector = InstanceType<FaceApi['TinyFaceDetector']>;
type LandmarkNet = InstanceType<FaceApi['FaceLandmark68TinyNet']>;

const detectorModel = 'tiny_face_detector_model';
const landmarkModel = 'face_landmark_68_tiny_model';
/** iBUG 68-point scheme: 48–59 outer lip, 60–67 inner lip. */
const mouthPoints = { from: 48, to: 68 } as const;

export function faceModelDirectory(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
}

export interface FaceLandmarkerOptions {
  /** Folder with the `*-weights_manifest.json` files and their `.bin` shards. */
  readonly modelDirectory?: string;
  /** How files are read; a test passes a recording reader to see where weights come from. */
  readonly readFile?: (path: string) => Promise<Uint8Array>;
  /** Side of the square the detector sees (multiple of 32): larger finds smaller faces, slower. */
  readonly detectorInputSize?: number;
  readonly minFaceScore?: number;
}

export interface MouthLandmarks {
  /** Centre of the 20 mouth points, in frame pixels. */
  readonly centerX: number;
  readonly centerY: number;
  /** Corner-to-corner width and lip-to-lip height, in frame pixels. */
  readonly width: number;
  readonly height: number;
  readonly faceScore: number;
  readonly points: readonly { readonly x: number; readonly y: number }[];
}

export class FaceLandmarker {
  readonly #faceapi: FaceApi;
  readonly #detector: TinyFaceDetector;
  readonly #landmarks: LandmarkNet;
  readonly #detectorOptions: InstanceType<FaceApi['TinyFaceDetectorOptions']>;
  /** The weight files read at load, for provenance and tests. */
  readonly weightFiles: readonly string[];

  private constructor(faceapi: FaceApi, detector: TinyFaceDetector, landmarks: LandmarkNet, options: FaceLandmarkerOptions, weightFiles: string[]) {
    this.#faceapi = faceapi;
    this.#detector = detector;
    this.#landmarks = landmarks;
    this.#detectorOptions = new faceapi.TinyFaceDetectorOptions({
      inputSize: options.detectorInputSize ?? 224,
      scoreThreshold: options.minFaceScore ?? 0.5,
    });
    this.weightFiles = weightFiles;
  }

  static async load(options: FaceLandmarkerOptions = {}): Promise<FaceLandmarker> {
    // Loaded on demand: TensorFlow.js costs start-up time that audio-only work need not pay.
    const faceapi = await import('@vladmandic/face-api/dist/face-api.node-wasm.js');
    await useWasmBackend(faceapi.tf);
    const directory = options.modelDirectory ?? faceModelDirectory();
    const readFile = options.readFile ?? readFileFromDisk;
    const weightFiles: string[] = [];
    const detector = new faceapi.TinyFaceDetector();
    detector.loadFromWeightMap(await readWeightMap(faceapi.tf, directory, detectorModel, readFile, weightFiles));
    const landmarks = new faceapi.FaceLandmark68TinyNet();
    landmarks.loadFromWeightMap(await readWeightMap(faceapi.tf, directory, landmarkModel, readFile, weightFiles));
    return new FaceLandmarker(faceapi, detector, landmarks, options, weightFiles);
  }

  /** The mouth of the most confident face in the frame, or undefined when no face is found. */
  async findMouth(frame: GrayFrame): Promise<MouthLandmarks | undefined> {
    const { tf } = this.#faceapi;
    // The detector wants three channels; a gray frame repeated three times detects as well.
    const image = tf.tidy(() => tf.tile(tf.tensor3d(frame.pixels, [frame.height, frame.width, 1], 'int32'), [1, 1, 3]));
    try {
      const faces = await this.#detector.locateFaces(image, this.#detectorOptions);
      const face = faces.reduce<(typeof faces)[number] | undefined>((best, candidate) => (best === undefined || candidate.score > best.score ? candidate : best), undefined);
      if (face === undefined) return undefined;
      const [crop] = await this.#faceapi.extractFaceTensors(image, [face]);
      if (crop === undefined) return undefined;
      try {
        const found = await this.#landmarks.detectLandmarks(crop);
        const landmarks = Array.isArray(found) ? found[0] : found;
        if (landmarks === undefined) return undefined;
        const box = face.box;
        const points = landmarks.positions.slice(mouthPoints.from, mouthPoints.to).map((point) => ({ x: point.x + box.x, y: point.y + box.y }));
        const xs = points.map((point) => point.x);
        const ys = points.map((point) => point.y);
        return {
          centerX: xs.reduce((sum, x) => sum + x, 0) / points.length,
          centerY: ys.reduce((sum, y) => sum + y, 0) / points.length,
          width: Math.max(...xs) - Math.min(...xs),
          height: Math.max(...ys) - Math.min(...ys),
          faceScore: face.score,
          points,
        };
      } finally {
        crop.dispose();
      }
    } finally {
      image.dispose();
    }
  }

  dispose(): void {
    this.#detector.dispose();
    this.#landmarks.dispose();
  }
}

/** The part of TensorFlow.js's API that face-api's bundled typings leave out. */
interface BackendControl {
  getBackend(): string | undefined;
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
}

async function useWasmBackend(faceTf: Tf): Promise<void> {
  const tf = faceTf as unknown as BackendControl;
  if (tf.getBackend() === 'wasm') return;
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const require = createRequire(import.meta.url);
  // A file-system prefix: under Node the backend reads the .wasm file from disk.
  wasm.setWasmPaths(`${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`);
  if (!(await tf.setBackend('wasm'))) throw new Error('TensorFlow.js could not start its WebAssembly backend');
  await tf.ready();
}

interface WeightsManifest {
  paths: string[];
  weights: Parameters<Tf['io']['decodeWeights']>[1];
}

async function readWeightMap(
  tf: Tf,
  directory: string,
  model: string,
  readFile: (path: string) => Promise<Uint8Array>,
  record: string[],
): Promise<Parameters<TinyFaceDetector['loadFromWeightMap']>[0]> {
  const manifestPath = join(directory, `${model}-weights_manifest.json`);
  record.push(manifestPath);
  const groups = JSON.parse(new TextDecoder().decode(await readFile(manifestPath))) as WeightsManifest[];
  const specs: WeightsManifest['weights'] = [];
  const shards: Uint8Array[] = [];
  for (const group of groups) {
    specs.push(...group.weights);
    for (const shard of group.paths) {
      const shardPath = join(directory, shard);
      record.push(shardPath);
      shards.push(await readFile(shardPath));
    }
  }
  const joined = new Uint8Array(shards.reduce((sum, shard) => sum + shard.length, 0));
  let offset = 0;
  for (const shard of shards) {
    joined.set(shard, offset);
    offset += shard.length;
  }
  return tf.io.decodeWeights(joined.buffer, specs);
}

export interface MouthRoiOptions {
  /** Side of the square ROI handed to the video encoder, from the model bundle's manifest. */
  readonly roiSize: number;
  /** Run the detector on every Nth frame and carry the box in between. Default 5 (5 per second at 25 fps). */
  readonly detectEvery?: number;
  /** Crop side as a multiple of the mouth's corner-to-corner width. Default 2 (lips, chin, nose tip). */
  readonly sideToMouthWidth?: number;
  /** Weight of a new detection against the running box, 0..1. Default 0.6: steady crops, quick enough to follow a head. */
  readonly smoothing?: number;
}

export interface MouthRoi {
  readonly timeSeconds: number;
  /** Where the crop was taken, in frame pixels. */
  readonly centerX: number;
  readonly centerY: number;
  readonly side: number;
  /** True on frames where the detector ran; false where the box was carried from the last detection. */
  readonly detected: boolean;
  readonly size: number;
  /** size × size grayscale pixels. */
  readonly pixels: Uint8Array;
}

/**
 * Follows one speaker's mouth through a stream of frames. Detection is the costly part, so it
 * runs every `detectEvery` frames and the box is smoothed between detections. When a detection
 * finds no face, frames give undefined until one finds a face again: the engine runs those
 * spans audio-only and records it on their segments.
 */
export class MouthRoiTracker {
  readonly #landmarker: FaceLandmarker;
  readonly #roiSize: number;
  readonly #detectEvery: number;
  readonly #sideToMouthWidth: number;
  readonly #smoothing: number;
  #frameIndex = 0;
  #box: { centerX: number; centerY: number; side: number } | undefined;

  constructor(landmarker: FaceLandmarker, options: MouthRoiOptions) {
    if (!Number.isInteger(options.roiSize) || options.roiSize <= 0) throw new RangeError(`roiSize must be a positive integer, got ${options.roiSize}`);
    this.#landmarker = landmarker;
    this.#roiSize = options.roiSize;
    this.#detectEvery = Math.max(1, Math.floor(options.detectEvery ?? 5));
    this.#sideToMouthWidth = options.sideToMouthWidth ?? 2;
    this.#smoothing = Math.min(1, Math.max(0, options.smoothing ?? 0.6));
  }

  async track(frame: GrayFrame): Promise<MouthRoi | undefined> {
    const detect = this.#frameIndex % this.#detectEvery === 0;
    this.#frameIndex += 1;
    if (detect) {
      const mouth = await this.#landmarker.findMouth(frame);
      if (mouth === undefined) {
        this.#box = undefined;
      } else {
        const fresh = { centerX: mouth.centerX, centerY: mouth.centerY, side: Math.max(mouth.width * this.#sideToMouthWidth, 8) };
        const previous = this.#box;
        const mix = (a: number, b: number) => a + this.#smoothing * (b - a);
        this.#box =
          previous === undefined
            ? fresh
            : { centerX: mix(previous.centerX, fresh.centerX), centerY: mix(previous.centerY, fresh.centerY), side: mix(previous.side, fresh.side) };
      }
    }
    const box = this.#box;
    if (box === undefined) return undefined;
    return {
      timeSeconds: frame.timeSeconds,
      ...box,
      detected: detect,
      size: this.#roiSize,
      pixels: cropSquare(frame, box.centerX, box.centerY, box.side, this.#roiSize),
    };
  }

  /** Forget the face, e.g. after a seek: the next frame runs the detector. */
  reset(): void {
    this.#frameIndex = 0;
    this.#box = undefined;
  }
}

/**
 * A square around (centerX, centerY) resampled bilinearly to size × size. Pixels outside the
 * frame repeat the nearest edge, so a mouth near the border still gives a full crop.
 */
export function cropSquare(frame: GrayFrame, centerX: number, centerY: number, side: number, size: number): Uint8Array {
  const out = new Uint8Array(size * size);
  const step = side / size;
  const left = centerX - side / 2;
  const top = centerY - side / 2;
  const maxX = frame.width - 1;
  const maxY = frame.height - 1;
  for (let row = 0; row < size; row += 1) {
    const y = Math.min(maxY, Math.max(0, top + (row + 0.5) * step - 0.5));
    const y0 = Math.floor(y);
    const y1 = Math.min(maxY, y0 + 1);
    const fy = y - y0;
    for (let column = 0; column < size; column += 1) {
      const x = Math.min(maxX, Math.max(0, left + (column + 0.5) * step - 0.5));
      const x0 = Math.floor(x);
      const x1 = Math.min(maxX, x0 + 1);
      const fx = x - x0;
      const p = frame.pixels;
      const topRow = p[y0 * frame.width + x0]! * (1 - fx) + p[y0 * frame.width + x1]! * fx;
      const bottomRow = p[y1 * frame.width + x0]! * (1 - fx) + p[y1 * frame.width + x1]! * fx;
      out[row * size + column] = Math.round(topRow * (1 - fy) + bottomRow * fy);
    }
  }
  return out;
}
