import assert from 'node:assert/strict';
import { readFileSync, rmSync, truncateSync, writeFileSync, statSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import * as ort from 'onnxruntime-node';
import { BundleError, loadBundle, readBundleJson, type BundleProblem } from '../../electron/engine/bundle.js';
import { candidateProviders } from '../../electron/engine/execution-providers.js';
import { copyOfTestBundle, testBundleDirectory } from '../support/bundle.js';

const options = { device: 'auto', autoCandidates: candidateProviders(process.platform) } as const;

async function expectProblem(directory: string, problem: BundleProblem, message: RegExp) {
  await assert.rejects(loadBundle(ort, directory, options), (error: unknown) => {
    assert.ok(error instanceof BundleError, String(error));
    assert.equal(error.problem, problem);
    assert.match(error.message, message);
    return true;
  });
}

function editManifest(directory: string, edit: (manifest: Record<string, unknown>) => void) {
  const path = join(directory, 'manifest.json');
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  edit(manifest);
  writeFileSync(path, JSON.stringify(manifest));
}

/** Rewrites one of the bundle's decoding tables, gzipped again where its name says so (as the engine reads it). */
function editTable(directory: string, file: string, edit: (json: Record<string, unknown>) => void) {
  const json = readBundleJson(directory, file) as Record<string, unknown>;
  edit(json);
  const text = JSON.stringify(json);
  writeFileSync(join(directory, file), file.endsWith('.gz') ? gzipSync(text) : text);
}

test('the bundle loads with its scale ladder, and auto falls back to CPU with the reason kept', async () => {
  const bundle = await loadBundle(ort, testBundleDirectory(), options);
  try {
    assert.ok(bundle.manifest.scales.length >= 4, 'at least four scales');
    assert.equal(bundle.adapters.length, bundle.manifest.scales.length);
    const rates = bundle.manifest.scales.map((scale) => scale.lmTokensPerSecond.avsr);
    assert.ok(rates.every((rate, index) => index === 0 || rate <= rates[index - 1]!), `finest first: ${rates.join(', ')}`);
    if (bundle.provider.used === 'cpu' && process.platform === 'linux') {
      assert.ok(bundle.provider.fallbacks.every((fallback) => fallback.reason.length > 0));
    }
  } finally {
    await bundle.release();
  }
});

test('a missing graph, a truncated adapter and an empty graph are named', async () => {
  const missing = copyOfTestBundle();
  rmSync(join(missing, 'decoder.onnx'));
  await expectProblem(missing, 'missing-file', /missing decoder\.onnx/);

  const truncated = copyOfTestBundle();
  truncateSync(join(truncated, 'adapters', 's1.bin'), 1000);
  await expectProblem(truncated, 'truncated-file', /adapters\/s1\.bin has 1000 bytes/);

  const longer = copyOfTestBundle();
  appendFileSync(join(longer, 'adapters', 's0.bin'), Buffer.alloc(8));
  await expectProblem(longer, 'mismatch', /adapters\/s0\.bin has \d+ bytes; the manifest describes/);

  const half = copyOfTestBundle();
  truncateSync(join(half, 'video_encoder.onnx'), Math.floor(statSync(join(half, 'video_encoder.onnx')).size / 2));
  await expectProblem(half, 'corrupt-graph', /video_encoder\.onnx could not be loaded/);
});

function ctcRules(manifest: Record<string, unknown>): Record<string, unknown> {
  return (manifest.decoding as { ctc: Record<string, unknown> }).ctc;
}

test('a malformed manifest says which field is wrong', async () => {
  const noScales = copyOfTestBundle();
  editManifest(noScales, (manifest) => (manifest.scales = []));
  await expectProblem(noScales, 'malformed-manifest', /scales must list at least one scale/);

  const badRate = copyOfTestBundle();
  editManifest(badRate, (manifest) => ((manifest.scales as Record<string, unknown>[])[2]!.audio_rate = 'fast'));
  await expectProblem(badRate, 'malformed-manifest', /scales\[2\]\.audio_rate must be a positive integer/);

  const escape = copyOfTestBundle();
  editManifest(escape, (manifest) => ((manifest.tokenizer as Record<string, unknown>).file = '../../etc/passwd'));
  await expectProblem(escape, 'malformed-manifest', /tokenizer\.file must be a path inside the bundle/);

  const future = copyOfTestBundle();
  editManifest(future, (manifest) => (manifest.format_version = 99));
  await expectProblem(future, 'malformed-manifest', /format_version is 99/);

  const ctcOutput = copyOfTestBundle();
  editManifest(ctcOutput, (manifest) => (ctcRules(manifest).output = 'audio_ctc_typo'));
  await expectProblem(ctcOutput, 'malformed-manifest', /decoding\.ctc\.output "audio_ctc_typo" is not an output of graphs\.audio_encoder/);

  const ctcWeight = copyOfTestBundle();
  editManifest(ctcWeight, (manifest) => (ctcRules(manifest).weight = 1));
  await expectProblem(ctcWeight, 'malformed-manifest', /decoding\.ctc\.weight must be a number in \[0, 1\)/);

  const decodingRules = (manifest: Record<string, unknown>) => manifest.decoding as Record<string, unknown>;
  const method = copyOfTestBundle();
  editManifest(method, (manifest) => (decodingRules(manifest).default = { method: 'fastest', beams: 8 }));
  await expectProblem(method, 'malformed-manifest', /decoding\.default\.method must be one of rescore, greedy, beam/);

  const beams = copyOfTestBundle();
  editManifest(beams, (manifest) => (decodingRules(manifest).default = { method: 'rescore', beams: 0 }));
  await expectProblem(beams, 'malformed-manifest', /decoding\.default\.beams must be a positive integer/);

  const narrowSearch = copyOfTestBundle();
  editManifest(narrowSearch, (manifest) => (decodingRules(manifest).default = { method: 'rescore', beams: 8, search_beams: 4 }));
  await expectProblem(narrowSearch, 'malformed-manifest', /decoding\.default\.search_beams must be at least decoding\.default\.beams \(8\)/);

  const searchOfBeam = copyOfTestBundle();
  editManifest(searchOfBeam, (manifest) => (decodingRules(manifest).default = { method: 'beam', beams: 4, search_beams: 32 }));
  await expectProblem(searchOfBeam, 'malformed-manifest', /decoding\.default\.search_beams applies to "rescore" only/);

  const budgetOfNoScale = copyOfTestBundle();
  editManifest(budgetOfNoScale, (manifest) => (decodingRules(manifest).default = { method: 'rescore', beams: 8, scale_search: { s9: { search_beams: 16, beams: 2 } } }));
  await expectProblem(budgetOfNoScale, 'malformed-manifest', /decoding\.default\.scale_search\.s9 is not one of the bundle's scales \(s0, /);

  const budgetRescoringMore = copyOfTestBundle();
  editManifest(budgetRescoringMore, (manifest) => (decodingRules(manifest).default = { method: 'rescore', beams: 8, scale_search: { s0: { search_beams: 4, beams: 8 } } }));
  await expectProblem(budgetRescoringMore, 'malformed-manifest', /decoding\.default\.scale_search\.s0\.beams must be at most its search_beams \(4\)/);

  const budgetOfBeam = copyOfTestBundle();
  editManifest(budgetOfBeam, (manifest) => (decodingRules(manifest).default = { method: 'beam', beams: 4, scale_search: { s0: { search_beams: 4, beams: 2 } } }));
  await expectProblem(budgetOfBeam, 'malformed-manifest', /decoding\.default\.scale_search applies to "rescore" only/);

  const voteAtOne = copyOfTestBundle();
  editManifest(voteAtOne, (manifest) => (decodingRules(manifest).default = { method: 'rescore', beams: 8, speed_vote: { speeds: [0.95, 1], search_beams: 16 } }));
  await expectProblem(voteAtOne, 'malformed-manifest', /decoding\.default\.speed_vote\.speeds\[1\] must be a speed in \[0\.5, 2\] other than 1/);

  const voteRepeated = copyOfTestBundle();
  editManifest(voteRepeated, (manifest) => (decodingRules(manifest).default = { method: 'rescore', beams: 8, speed_vote: { speeds: [1.05, 1.05], search_beams: 16 } }));
  await expectProblem(voteRepeated, 'malformed-manifest', /decoding\.default\.speed_vote\.speeds\[1\] repeats 1\.05/);

  const voteWithoutSearch = copyOfTestBundle();
  editManifest(voteWithoutSearch, (manifest) => (decodingRules(manifest).default = { method: 'rescore', beams: 8, speed_vote: { speeds: [0.95], search_beams: 0 } }));
  await expectProblem(voteWithoutSearch, 'malformed-manifest', /decoding\.default\.speed_vote\.search_beams must be a positive integer/);

  const voteAtNoScale = copyOfTestBundle();
  editManifest(voteAtNoScale, (manifest) => (decodingRules(manifest).default = { method: 'rescore', beams: 8, speed_vote: { speeds: [0.95], search_beams: 16, scales: ['s0', 's9'] } }));
  await expectProblem(voteAtNoScale, 'malformed-manifest', /decoding\.default\.speed_vote\.scales\[1\] is not one of the bundle's scales \(s0, /);

  const voteOfBeam = copyOfTestBundle();
  editManifest(voteOfBeam, (manifest) => (decodingRules(manifest).default = { method: 'beam', beams: 4, speed_vote: { speeds: [0.95], search_beams: 16 } }));
  await expectProblem(voteOfBeam, 'malformed-manifest', /decoding\.default\.speed_vote applies to "rescore" only/);

  const rescoreWithoutCtc = copyOfTestBundle();
  editManifest(rescoreWithoutCtc, (manifest) => {
    delete decodingRules(manifest).ctc;
    decodingRules(manifest).default = { method: 'rescore', beams: 8 };
  });
  await expectProblem(rescoreWithoutCtc, 'malformed-manifest', /decoding\.default\.method "rescore" needs the CTC head/);

  const notJson = copyOfTestBundle();
  writeFileSync(join(notJson, 'manifest.json'), '{"format": "nestcap-av-bundle",');
  await expectProblem(notJson, 'missing-file', /not valid JSON/);
});

test('a manifest that disagrees with its graphs or tokenizer is a mismatch', async () => {
  const renamed = copyOfTestBundle();
  editManifest(renamed, (manifest) => {
    const graphs = manifest.graphs as Record<string, { outputs: { name: string }[] }>;
    graphs.audio_encoder!.outputs[1]!.name = 'audio_tokens_renamed';
  });
  await expectProblem(renamed, 'mismatch', /audio_encoder\.onnx has no output named audio_tokens_renamed/);

  const vocab = copyOfTestBundle();
  editManifest(vocab, (manifest) => {
    const lm = manifest.lm as { vocab_size: number };
    lm.vocab_size += 1;
  });
  await expectProblem(vocab, 'mismatch', /tokenizer\.json has \d+ tokens but the decoder expects/);
});

test('a word LM that is malformed, truncated or inconsistent is named', async (t) => {
  const manifestPath = join(testBundleDirectory(), 'manifest.json');
  const decoding = (JSON.parse(readFileSync(manifestPath, 'utf8')) as { decoding: { word_lm?: { file: string } } }).decoding;
  if (!decoding.word_lm) {
    t.skip('this bundle has no word LM');
    return;
  }
  const file = decoding.word_lm.file;
  const wordLmRules = (manifest: Record<string, unknown>) => (manifest.decoding as { word_lm: Record<string, unknown> }).word_lm;

  const negative = copyOfTestBundle();
  editManifest(negative, (manifest) => (wordLmRules(manifest).weight = -0.2));
  await expectProblem(negative, 'malformed-manifest', /decoding\.word_lm\.weight must be a number of at least 0/);

  const format = copyOfTestBundle();
  editManifest(format, (manifest) => (wordLmRules(manifest).format = 'arpa'));
  await expectProblem(format, 'malformed-manifest', /decoding\.word_lm\.format must be "nestcap-word-bigram-1"/);

  const gzipped = file.endsWith('.gz');
  const truncated = copyOfTestBundle();
  const bytes = readFileSync(join(truncated, file));
  writeFileSync(join(truncated, file), bytes.subarray(0, bytes.length / 2));
  await expectProblem(truncated, 'truncated-file', new RegExp(`${file} in .* is not complete ${gzipped ? 'gzipped ' : ''}JSON`));

  const empty = copyOfTestBundle();
  writeFileSync(join(empty, file), '');
  await expectProblem(empty, 'truncated-file', new RegExp(`${file} in .* is empty`));

  const editWordLm = (directory: string, edit: (json: Record<string, unknown>) => void) => editTable(directory, file, edit);
  const unsorted = copyOfTestBundle();
  editWordLm(unsorted, (json) => (json.words = [...(json.words as string[])].reverse()));
  await expectProblem(unsorted, 'mismatch', /words are not sorted at 1/);

  const fewerCounts = copyOfTestBundle();
  editWordLm(fewerCounts, (json) => (json.words = [...(json.words as string[]), 'zzzzzz']));
  await expectProblem(fewerCounts, 'mismatch', /counts has \d+ entries; \d+ words and the sentence end need/);

  const otherDiscount = copyOfTestBundle();
  editWordLm(otherDiscount, (json) => (json.discount = 0.5));
  await expectProblem(otherDiscount, 'mismatch', /discount and unk_share must be 0\.75 and 0\.1/);

  const missingFile = copyOfTestBundle();
  rmSync(join(missingFile, file));
  await expectProblem(missingFile, 'missing-file', new RegExp(`missing ${file}`));

  // Bundles before 2026-12-03 shipped the tables as plain word_lm.json; the same tables must score alike.
  const plain = copyOfTestBundle();
  writeFileSync(join(plain, 'word_lm.json'), JSON.stringify(readBundleJson(plain, file)));
  if (gzipped) rmSync(join(plain, file));
  editManifest(plain, (manifest) => (wordLmRules(manifest).file = 'word_lm.json'));
  const [fromPlain, fromShipped] = [await loadBundle(ort, plain, options), await loadBundle(ort, testBundleDirectory(), options)];
  try {
    const [plainLm, shippedLm] = [fromPlain.wordLm!, fromShipped.wordLm!];
    for (const word of ['garden', 'cat', 'zzyzx']) {
      assert.equal(plainLm.wordLogProbability(plainLm.historyOf('the'), word), shippedLm.wordLogProbability(shippedLm.historyOf('the'), word));
    }
  } finally {
    await Promise.all([fromPlain.release(), fromShipped.release()]);
  }
});

test('an audio-visual CTC head that is missing, truncated or inconsistent is named', async (t) => {
  const probe = await loadBundle(ort, testBundleDirectory(), options);
  const audioVisual = probe.manifest.decoding.ctc?.audioVisual;
  const session = probe.sessions.avCtc;
  await probe.release();
  if (!audioVisual) {
    t.skip('this bundle has no audio-visual CTC head');
    return;
  }
  assert.ok(session, 'the head has a session of its own');
  const graphs = (manifest: Record<string, unknown>) => manifest.graphs as Record<string, { file: string; inputs: { name: string }[] }>;

  const missing = copyOfTestBundle();
  rmSync(join(missing, 'av_ctc.onnx'));
  await expectProblem(missing, 'missing-file', /missing av_ctc\.onnx/);

  const half = copyOfTestBundle();
  truncateSync(join(half, 'av_ctc.onnx'), Math.floor(statSync(join(half, 'av_ctc.onnx')).size / 2));
  await expectProblem(half, 'corrupt-graph', /av_ctc\.onnx could not be loaded/);

  const noGraph = copyOfTestBundle();
  editManifest(noGraph, (manifest) => delete graphs(manifest).av_ctc);
  await expectProblem(noGraph, 'malformed-manifest', /decoding\.ctc\.audio_visual_output needs graphs\.av_ctc/);

  const output = copyOfTestBundle();
  editManifest(output, (manifest) => (ctcRules(manifest).audio_visual_output = 'av_ctc_typo'));
  await expectProblem(output, 'malformed-manifest', /"av_ctc_typo" is not an output of graphs\.av_ctc/);

  const inputs = copyOfTestBundle();
  editManifest(inputs, (manifest) => graphs(manifest).av_ctc!.inputs.reverse());
  await expectProblem(inputs, 'malformed-manifest', /graphs\.av_ctc\.inputs must be an output of graphs\.audio_encoder, then one of graphs\.video_encoder/);
});

test('a phone lexicon that is malformed, truncated or inconsistent is named', async (t) => {
  const manifestPath = join(testBundleDirectory(), 'manifest.json');
  const decoding = (JSON.parse(readFileSync(manifestPath, 'utf8')) as { decoding: { phones?: { file: string } } }).decoding;
  if (!decoding.phones) {
    t.skip('this bundle has no phone head');
    return;
  }
  const file = decoding.phones.file;
  const phoneRules = (manifest: Record<string, unknown>) => (manifest.decoding as { phones: Record<string, unknown> }).phones;

  const loaded = await loadBundle(ort, testBundleDirectory(), options);
  try {
    assert.ok(loaded.phones, 'the lexicon loads with the bundle');
    assert.ok(loaded.phones.alphabet.characters.some(({ symbol }) => symbol.kind === 'character' && symbol.character === ' '), 'the word boundary is a symbol');
  } finally {
    await loaded.release();
  }

  const format = copyOfTestBundle();
  editManifest(format, (manifest) => (phoneRules(manifest).format = 'cmudict'));
  await expectProblem(format, 'malformed-manifest', /decoding\.phones\.format must be "nestcap-phones-1"/);

  const output = copyOfTestBundle();
  editManifest(output, (manifest) => (phoneRules(manifest).output = 'audio_phones_renamed'));
  await expectProblem(output, 'malformed-manifest', /decoding\.phones\.output "audio_phones_renamed" is not an output of graphs\.audio_encoder/);

  const audioVisual = copyOfTestBundle();
  editManifest(audioVisual, (manifest) => (phoneRules(manifest).audio_visual_output = 'av_phones_renamed'));
  await expectProblem(audioVisual, 'malformed-manifest', /decoding\.phones\.audio_visual_output "av_phones_renamed" is not an output of graphs\.av_ctc/);

  const video = copyOfTestBundle();
  editManifest(video, (manifest) => (phoneRules(manifest).video_output = 'video_phones_renamed'));
  await expectProblem(video, 'malformed-manifest', /decoding\.phones\.video_output "video_phones_renamed" is not an output of graphs\.video_encoder/);

  const withoutWordLm = copyOfTestBundle();
  editManifest(withoutWordLm, (manifest) => delete (manifest.decoding as Record<string, unknown>).word_lm);
  await expectProblem(withoutWordLm, 'malformed-manifest', /decoding\.phones needs decoding\.ctc and decoding\.word_lm/);

  const truncated = copyOfTestBundle();
  const bytes = readFileSync(join(truncated, file));
  writeFileSync(join(truncated, file), bytes.subarray(0, bytes.length / 2));
  await expectProblem(truncated, 'truncated-file', new RegExp(`${file} in .* is not complete gzipped JSON`));

  const empty = copyOfTestBundle();
  writeFileSync(join(empty, file), '');
  await expectProblem(empty, 'truncated-file', new RegExp(`${file} in .* is empty`));

  const editPhones = (directory: string, edit: (json: Record<string, unknown>) => void) => editTable(directory, file, edit);
  const twoCharacterPhone = copyOfTestBundle();
  editPhones(twoCharacterPhone, (json) => ((json.symbols as string[])[12] = 'aa'));
  await expectProblem(twoCharacterPhone, 'mismatch', /symbols from first_symbol_id must be single characters/);

  const notAPronunciation = copyOfTestBundle();
  editPhones(notAPronunciation, (json) => ((json.word_lm as { words: string[] }).words[0] = '~'));
  await expectProblem(notAPronunciation, 'mismatch', /word 0 is not a string of the phone symbols/);

  const unknownScale = copyOfTestBundle();
  editPhones(unknownScale, (json) => ((json.word_lm as Record<string, unknown>).unknown_scale = 2));
  await expectProblem(unknownScale, 'mismatch', /unknown_scale must be a number in \(0, 1\]/);

  const emptySpellings = copyOfTestBundle();
  editPhones(emptySpellings, (json) => {
    const spellings = json.spellings as Record<string, string[]>;
    spellings[Object.keys(spellings)[0]!] = [];
  });
  await expectProblem(emptySpellings, 'mismatch', /the spellings of ".*" must be a non-empty array of words/);

  const missingFile = copyOfTestBundle();
  rmSync(join(missingFile, file));
  await expectProblem(missingFile, 'missing-file', new RegExp(`missing ${file.replace('.', '\\.')}`));
});

test('video fusion that is malformed, or without the two phone heads it pools, is named', async (t) => {
  const manifestPath = join(testBundleDirectory(), 'manifest.json');
  const phones = (JSON.parse(readFileSync(manifestPath, 'utf8')) as { decoding: { phones?: Record<string, unknown> } }).decoding.phones;
  if (phones?.audio_visual_output === undefined || phones.video_output === undefined) {
    t.skip('this bundle lacks the audio-visual or the video phone head');
    return;
  }
  const decodingRules = (manifest: Record<string, unknown>) => manifest.decoding as { default: Record<string, unknown>; phones: Record<string, unknown> };
  const fusing = (videoFusion: unknown) => (manifest: Record<string, unknown>) => {
    decodingRules(manifest).default = { method: 'rescore', beams: 8, video_fusion: videoFusion };
  };

  const parsed = copyOfTestBundle();
  editManifest(parsed, fusing({ weight: 0.5, below_confidence: 0.92 }));
  const loaded = await loadBundle(ort, parsed, options);
  try {
    assert.deepEqual(loaded.manifest.decoding.defaultSearch.videoFusion, { weight: 0.5, belowConfidence: 0.92 });
  } finally {
    await loaded.release();
  }

  const withoutLipReader = copyOfTestBundle();
  editManifest(withoutLipReader, (manifest) => {
    fusing({ weight: 0.5, below_confidence: 0.92 })(manifest);
    delete decodingRules(manifest).phones.video_output;
  });
  await expectProblem(withoutLipReader, 'malformed-manifest', /decoding\.default\.video_fusion needs decoding\.phones with audio_visual_output and video_output/);

  const weightless = copyOfTestBundle();
  editManifest(weightless, fusing({ weight: 0, below_confidence: 0.92 }));
  await expectProblem(weightless, 'malformed-manifest', /decoding\.default\.video_fusion\.weight must be a number above 0/);

  const beyondCertain = copyOfTestBundle();
  editManifest(beyondCertain, fusing({ weight: 0.5, below_confidence: 1.5 }));
  await expectProblem(beyondCertain, 'malformed-manifest', /decoding\.default\.video_fusion\.below_confidence must be a probability in \(0, 1\]/);

  const ofBeam = copyOfTestBundle();
  editManifest(ofBeam, (manifest) => (decodingRules(manifest).default = { method: 'beam', beams: 4, video_fusion: { weight: 0.5, below_confidence: 0.92 } }));
  await expectProblem(ofBeam, 'malformed-manifest', /decoding\.default\.video_fusion applies to "rescore" only/);
});
