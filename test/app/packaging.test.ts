import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { load } from 'js-yaml';
import { minimatch } from 'minimatch';
import { builtInBundleId, readBundleManifest } from '../../electron/engine/bundle-location.js';
import { parseManifest } from '../../electron/engine/bundle-manifest.js';

// electron-builder cannot run here (it downloads Electron), so its file selection is checked the way it
// applies it: minimatch patterns relative to the project, a file packed when a pattern takes it and no
// later "!" pattern drops it.
const root = join(import.meta.dirname, '..', '..');

function packedBy(patterns: readonly string[]): (file: string) => boolean {
  return (file) => {
    let packed = false;
    for (const pattern of patterns) {
      if (pattern.startsWith('!')) {
        if (minimatch(file, pattern.slice(1), { dot: true })) packed = false;
      } else if (minimatch(file, pattern, { dot: true })) {
        packed = true;
      }
    }
    return packed;
  };
}

function builderFiles(): string[] {
  const config = load(readFileSync(join(root, 'build', 'electron-builder.yml'), 'utf8')) as { files?: unknown };
  assert.ok(Array.isArray(config.files) && config.files.every((pattern) => typeof pattern === 'string'), 'files is a list of patterns');
  return config.files;
}

test('the installer packs every file the built-in model bundle loads', () => {
  const bundle = join(root, 'native-models', builtInBundleId);
  const manifest = parseManifest(readBundleManifest(bundle));
  const needed = [
    'manifest.json',
    manifest.tokenizerFile,
    ...Object.values(manifest.graphs).flatMap((graph) => (graph ? [graph.file] : [])),
    ...manifest.scales.map((scale) => scale.adapterFile),
    ...[manifest.decoding.wordLm, manifest.decoding.phones].flatMap((spec) => (spec ? [spec.file] : [])),
  ].map((file) => relative(root, join(bundle, file)).split('\\').join('/'));
  const packed = packedBy(builderFiles());
  assert.deepEqual(needed.filter((file) => !packed(file)), [], 'files the engine loads but the installer leaves out');
});

test('the installer leaves out the training code, checkpoints, work files and parity fixtures', () => {
  const packed = packedBy(builderFiles());
  for (const file of [
    'native-models/nestcap_av/train.py',
    'native-models/checkpoints/mtskp12/model.fp16.pt',
    'native-models/checkpoints/mtskp12/config.json',
    'native-models/work/corpus/train/manifest.json',
    'native-models/README.md',
    `native-models/${builtInBundleId}/parity.json`,
    'dist/main.js.map',
  ]) {
    assert.equal(packed(file), false, file);
  }
  assert.equal(packed('dist/main.js'), true);
});
