import { readFile as readFileFromDisk } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as FaceApiModule from '@vladmandic/face-api/dist/face-api.node-wasm.js';
import { findMouthWithFaceApi, type GrayFrame, type MouthFinder, type MouthLandmarks } from './mouth-tracking.js';

export { cropSquare, MouthRoiTracker, type MouthLandmarks, type MouthRoi, type MouthRoiOptions } from './mouth-tracking.js';

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

export class FaceLandmarker implements MouthFinder {
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
  findMouth(frame: GrayFrame): Promise<MouthLandmarks | undefined> {
    return findMouthWithFaceApi({ faceapi: this.#faceapi, detector: this.#detector, landmarks: this.#landmarks, detectorOptions: this.#detectorOptions }, frame);
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
