import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { statSync } from 'node:fs';
import type * as http from 'node:http';
import { createRequire } from 'node:module';
import { join, sep } from 'node:path';
import { test } from 'node:test';
import { decodeVideoFrames, type GrayFrame } from '../../electron/media/decode-video.js';
import { cropSquare, FaceLandmarker, faceModelDirectory, MouthRoiTracker, type MouthRoi } from '../../electron/media/mouth-roi.js';
import { ffmpeg, generate, pattern, scratchFolder, tone } from './fixtures.js';

/** A real photo that ships in the same npm package as the weights: sample6.jpg, one face cropped out. */
const photo = join(faceModelDirectory(), '..', 'demo', 'sample6.jpg');
const stillCrop = 'crop=540:720:530:220,scale=360:480';
/**
 * Where the mouth is in that 360x480 still, measured once with the landmark model (all 20 mouth
 * points averaged, detector input 160–320) and checked by eye: the lips span about x 127–179,
 * y 214–240.
 */
const mouthInStill = { x: 152.5, y: 226.5, width: 52 };
/** The camera drifts: the 320x440 view moves sideways by up to 8 px and down by up to 6 px every 2 s. */
const drift = (time: number) => ({ x: Math.round(8 + 8 * Math.sin(Math.PI * time)), y: Math.round(6 + 6 * Math.sin(Math.PI * time)) });

function faceVideo(directory: string, seconds: number): string {
  return generate(join(directory, 'webcam.mp4'), [], [
    '-loop', '1', '-framerate', '25', '-t', String(seconds), '-i', photo,
    '-vf', `${stillCrop},crop=320:440:x='8+8*sin(PI*t)':y='6+6*sin(PI*t)':exact=1`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
  ]);
}

const require = createRequire(import.meta.url);
let landmarker: FaceLandmarker | undefined;

test('the face model loads from the files inside the npm package, with no network', async () => {
  const read: string[] = [];
  // Every road to the network counts: fetch (tfjs's own loader) and the http modules (node-fetch).
  let requests = 0;
  const refuse = () => {
    requests += 1;
    throw new Error('no network for the face model');
  };
  const realFetch = globalThis.fetch;
  globalThis.fetch = () => Promise.resolve(refuse());
  const modules = [require('node:http'), require('node:https')] as (typeof http)[];
  const originals = modules.map((module) => ({ request: module.request, get: module.get }));
  for (const module of modules) Object.assign(module, { request: refuse, get: refuse });
  try {
    landmarker = await FaceLandmarker.load({
      readFile: async (path) => {
        read.push(path);
        return readFile(path);
      },
    });
  } finally {
    globalThis.fetch = realFetch;
    modules.forEach((module, index) => Object.assign(module, originals[index]));
  }
  assert.equal(requests, 0, 'nothing was fetched, not even the WebAssembly backend');
  const packageModels = `${sep}node_modules${sep}@vladmandic${sep}face-api${sep}model${sep}`;
  assert.deepEqual(
    read.map((path) => path.slice(path.indexOf(packageModels) + packageModels.length)),
    ['tiny_face_detector_model-weights_manifest.json', 'tiny_face_detector_model.bin', 'face_landmark_68_tiny_model-weights_manifest.json', 'face_landmark_68_tiny_model.bin'],
  );
  assert.ok(read.every((path) => path.includes(packageModels) && statSync(path).size > 0));
  assert.deepEqual(landmarker.weightFiles, read);
});

test('a webcam clip of a real face gives mouth crops that stay on the mouth as the camera drifts', async (t) => {
  assert.ok(landmarker);
  const path = faceVideo(scratchFolder(t), 2);
  const frames: GrayFrame[] = [];
  for await (const frame of decodeVideoFrames(ffmpeg, path, { size: { width: 320, height: 440 } })) frames.push(frame);
  assert.equal(frames.length, 50);

  await t.test('detecting on every frame: the crop centre is within 5 px of the mouth', async () => {
    const tracker = new MouthRoiTracker(landmarker!, { roiSize: 88, detectEvery: 1, smoothing: 1 });
    for (const frame of frames.slice(0, 25)) {
      const roi = await tracker.track(frame);
      assert.ok(roi, `a face at ${frame.timeSeconds} s`);
      const truth = { x: mouthInStill.x - drift(frame.timeSeconds).x, y: mouthInStill.y - drift(frame.timeSeconds).y };
      const error = Math.hypot(roi.centerX - truth.x, roi.centerY - truth.y);
      assert.ok(error < 5, `${frame.timeSeconds} s: crop at (${roi.centerX.toFixed(1)}, ${roi.centerY.toFixed(1)}), mouth at (${truth.x}, ${truth.y})`);
      assert.ok(Math.abs(roi.side - 2 * mouthInStill.width) < 12, `crop side ${roi.side.toFixed(1)} px`);
      assert.equal(roi.pixels.length, 88 * 88);
    }
  });

  await t.test('detecting every 5th frame and tracking between: within 10 px, at a fraction of the cost', async () => {
    const tracker = new MouthRoiTracker(landmarker!, { roiSize: 88, detectEvery: 5 });
    const rois: MouthRoi[] = [];
    const started = performance.now();
    for (const frame of frames) {
      const roi = await tracker.track(frame);
      assert.ok(roi, `a face at ${frame.timeSeconds} s`);
      rois.push(roi);
    }
    const perFrame = (performance.now() - started) / frames.length;
    t.diagnostic(`ROI cost: ${perFrame.toFixed(1)} ms per frame with detection on every 5th frame (320x440 frames, detector input 224)`);
    assert.equal(rois.filter((roi) => roi.detected).length, 10);
    rois.forEach((roi) => {
      const truth = { x: mouthInStill.x - drift(roi.timeSeconds).x, y: mouthInStill.y - drift(roi.timeSeconds).y };
      assert.ok(Math.hypot(roi.centerX - truth.x, roi.centerY - truth.y) < 10, `${roi.timeSeconds} s`);
    });
  });
});

test('the crop matches a mouth box drawn by hand, not the face around it', async (t) => {
  assert.ok(landmarker);
  const frames: GrayFrame[] = [];
  for await (const frame of decodeVideoFrames(ffmpeg, faceVideo(scratchFolder(t), 0.2), { size: { width: 320, height: 440 } })) frames.push(frame);
  const frame = frames[0]!;
  const roi = await new MouthRoiTracker(landmarker, { roiSize: 44 }).track(frame);
  assert.ok(roi);
  // Drawn by eye on the still: nose tip to chin, cheek to cheek around the lips.
  const byHand = { x: 153 - drift(0).x, y: 227 - drift(0).y, side: 104 };
  const handCrop = cropSquare(frame, byHand.x, byHand.y, byHand.side, 44);
  const eyesCrop = cropSquare(frame, byHand.x, byHand.y - 90, byHand.side, 44);
  const similarity = correlation(roi.pixels, handCrop);
  t.diagnostic(`correlation with the hand-drawn mouth box ${similarity.toFixed(3)}, with the eyes ${correlation(roi.pixels, eyesCrop).toFixed(3)}`);
  assert.ok(similarity > 0.9);
  assert.ok(correlation(roi.pixels, eyesCrop) < 0.5);
});

function correlation(a: Uint8Array, b: Uint8Array): number {
  const mean = (values: Uint8Array) => values.reduce((sum, value) => sum + value, 0) / values.length;
  const [ma, mb] = [mean(a), mean(b)];
  let [ab, aa, bb] = [0, 0, 0];
  for (let index = 0; index < a.length; index += 1) {
    const [da, db] = [a[index]! - ma, b[index]! - mb];
    ab += da * db;
    aa += da * da;
    bb += db * db;
  }
  return ab / Math.sqrt(aa * bb);
}

test('a video without a face gives no ROI, so the engine runs it audio-only', async (t) => {
  assert.ok(landmarker);
  const path = generate(join(scratchFolder(t), 'test pattern.mp4'), [pattern(2, '320x240'), tone(2)], ['-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac']);
  const tracker = new MouthRoiTracker(landmarker, { roiSize: 88 });
  let frames = 0;
  for await (const frame of decodeVideoFrames(ffmpeg, path, { size: { width: 320, height: 240 } })) {
    frames += 1;
    assert.equal(await tracker.track(frame), undefined, `no face at ${frame.timeSeconds} s`);
  }
  assert.equal(frames, 50);
});

test('crops near the border repeat the edge instead of reading outside the frame', () => {
  const frame: GrayFrame = { timeSeconds: 0, width: 4, height: 4, pixels: Uint8Array.from({ length: 16 }, (_, index) => index * 10) };
  const crop = cropSquare(frame, 0, 0, 4, 4);
  assert.equal(crop.length, 16);
  assert.equal(crop[0], 0, 'top-left clamps to the first pixel');
  assert.equal(cropSquare(frame, 2, 2, 4, 4).join(','), Array.from(frame.pixels).join(','), 'a crop of the whole frame at its own size is the frame');
});

test.after(() => landmarker?.dispose());
