import type * as FaceApiModule from '@vladmandic/face-api/dist/face-api.node-wasm.js';

/**
 * Mouth tracking shared by the main process (video files) and the renderer (the live camera):
 * face-api's tiny face detector and tiny 68-point landmarks turned into a mouth box, a tracker
 * that smooths the box between detections, and the crop itself. No Node or DOM imports: each
 * side brings its own face-api build and frames.
 */

/** One grayscale video frame. */
export interface GrayFrame {
  /** Presentation time in seconds (of the file, or of the live session). */
  readonly timeSeconds: number;
  readonly width: number;
  readonly height: number;
  /** One byte per pixel, row by row, 0 = black. */
  readonly pixels: Uint8Array;
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

/** Finds the mouth in a frame; the Node FaceLandmarker and the renderer's camera model both are one. */
export interface MouthFinder {
  findMouth(frame: GrayFrame): Promise<MouthLandmarks | undefined>;
}

// face-api's Node and browser builds share these typings.
type FaceApi = typeof FaceApiModule;

export interface FaceApiNets {
  readonly faceapi: FaceApi;
  readonly detector: InstanceType<FaceApi['TinyFaceDetector']>;
  readonly landmarks: InstanceType<FaceApi['FaceLandmark68TinyNet']>;
  readonly detectorOptions: InstanceType<FaceApi['TinyFaceDetectorOptions']>;
}

/** iBUG 68-point scheme: 48–59 outer lip, 60–67 inner lip. */
const mouthPoints = { from: 48, to: 68 } as const;

/** The mouth of the most confident face in the frame, or undefined when no face is found. */
export async function findMouthWithFaceApi(nets: FaceApiNets, frame: GrayFrame): Promise<MouthLandmarks | undefined> {
  const { faceapi } = nets;
  const { tf } = faceapi;
  // The detector wants three channels; a gray frame repeated three times detects as well.
  const image = tf.tidy(() => tf.tile(tf.tensor3d(frame.pixels, [frame.height, frame.width, 1], 'int32'), [1, 1, 3]));
  try {
    const faces = await nets.detector.locateFaces(image, nets.detectorOptions);
    const face = faces.reduce<(typeof faces)[number] | undefined>((best, candidate) => (best === undefined || candidate.score > best.score ? candidate : best), undefined);
    if (face === undefined) return undefined;
    const [crop] = await faceapi.extractFaceTensors(image, [face]);
    if (crop === undefined) return undefined;
    try {
      const found = await nets.landmarks.detectLandmarks(crop);
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

/** Detection every 5th frame: 5 a second at 25 fps, enough to follow a head that moves. */
export const defaultDetectEvery = 5;

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
  readonly #landmarker: MouthFinder;
  readonly #roiSize: number;
  readonly #detectEvery: number;
  readonly #sideToMouthWidth: number;
  readonly #smoothing: number;
  #frameIndex = 0;
  #box: { centerX: number; centerY: number; side: number } | undefined;

  constructor(landmarker: MouthFinder, options: MouthRoiOptions) {
    if (!Number.isInteger(options.roiSize) || options.roiSize <= 0) throw new RangeError(`roiSize must be a positive integer, got ${options.roiSize}`);
    this.#landmarker = landmarker;
    this.#roiSize = options.roiSize;
    this.#detectEvery = Math.max(1, Math.floor(options.detectEvery ?? defaultDetectEvery));
    this.#sideToMouthWidth = options.sideToMouthWidth ?? 2;
    this.#smoothing = Math.min(1, Math.max(0, options.smoothing ?? 0.6));
  }

  async track(frame: GrayFrame): Promise<MouthRoi | undefined> {
    const detect = this.#frameIndex % this.#detectEvery === 0;
    this.#frameIndex += 1;
    if (detect) await this.detect(frame);
    return this.crop(frame, detect);
  }

  /**
   * Runs the detector on one frame and moves the box (or forgets it when no face is found).
   * A live camera calls this in the background and keeps cropping every frame meanwhile.
   */
  async detect(frame: GrayFrame): Promise<void> {
    const mouth = await this.#landmarker.findMouth(frame);
    if (mouth === undefined) {
      this.#box = undefined;
      return;
    }
    const fresh = { centerX: mouth.centerX, centerY: mouth.centerY, side: Math.max(mouth.width * this.#sideToMouthWidth, 8) };
    const previous = this.#box;
    const mix = (a: number, b: number) => a + this.#smoothing * (b - a);
    this.#box =
      previous === undefined
        ? fresh
        : { centerX: mix(previous.centerX, fresh.centerX), centerY: mix(previous.centerY, fresh.centerY), side: mix(previous.side, fresh.side) };
  }

  /** The crop at the current box, or undefined while no face is known. */
  crop(frame: GrayFrame, detected = false): MouthRoi | undefined {
    const box = this.#box;
    if (box === undefined) return undefined;
    return {
      timeSeconds: frame.timeSeconds,
      ...box,
      detected,
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
