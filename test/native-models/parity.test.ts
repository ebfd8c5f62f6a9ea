// ONNX Runtime vs PyTorch parity for a native-models bundle, at every scale.
// The bundle's parity.json holds inputs and PyTorch outputs written by `python -m nestcap_av.export`.
// Bundle: $NESTCAP_TEST_BUNDLE or the built-in one (test/support/bundle.ts), as for every engine test.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { readBundleJson } from '../../electron/engine/bundle.js';
import { ctcPrefixBeamSearch, searchAlphabet } from '../../electron/engine/ctc-beam-search.js';
import { CtcPrefixScorer } from '../../electron/engine/ctc-prefix-scorer.js';
import { fusedPhoneNBest, PhoneLexicon, phoneNBest } from '../../electron/engine/phone-search.js';
import { CharTokenizer } from '../../electron/engine/tokenizer.js';
import { WordLm, type NextSymbol } from '../../electron/engine/word-lm.js';
import { testBundleDirectory } from '../support/bundle.js';

const TOLERANCE = 1e-3;

interface TensorSpec { name: string; shape: number[]; dtype: string; byte_offset: number; byte_length: number }
interface ScaleEntry { id: string; audio_rate: number; video_rate: number; encoder_outputs: { audio: string; video: string }; adapter: { file: string; tensors: TensorSpec[] } }
interface Manifest {
  graphs: Record<string, { file: string }>;
  tokenizer: { file: string };
  decoding: { ctc: { output: string; blank: number; audio_visual_output?: string }; word_lm?: { file: string }; phones?: { output: string; blank: number; file: string; audio_visual_output?: string; video_output?: string } };
  lm: { dim: number; layers: number; heads: number; vocab_size: number };
  scales: ScaleEntry[];
  special_tokens: Record<string, number>;
  prompts: Record<string, number[]>;
  parity: { file: string; tolerance: number };
}
interface FixtureScale { prefix_len: number; logits: string; logits_shape: number[]; audio_tokens: string; audio_tokens_shape: number[]; video_tokens: string; video_tokens_shape: number[] }
interface Fixture {
  pcm: string; pcm_shape: number[]; frames: string; frames_shape: number[]; task: string; text_ids: number[]; scales: FixtureScale[];
  ctc_log_probs: string; ctc_log_probs_shape: number[]; ctc_prefix_scores: number[]; ctc_final_score: number;
  av_ctc_log_probs?: string; av_ctc_log_probs_shape?: number[];
  word_lm?: { text: string; character_scores: number[]; total: number }[];
  ctc_beam?: { beams: number; weight: number; word_weight: number; log_probs: string; shape: [number, number]; nbest: { tokens: number[]; ctc: number; words: number }[] };
  phone_log_probs?: string; phone_log_probs_shape?: number[];
  av_phone_log_probs?: string; av_phone_log_probs_shape?: number[];
  video_phone_log_probs?: string; video_phone_log_probs_shape?: number[];
  spellings?: { phones: string; text: string }[];
  phone_beam?: { beams: number; weight: number; word_weight: number; log_probs: string; shape: [number, number]; nbest: { text: string; tokens: number[]; ctc: number; words: number }[] };
  fused_phone_beam?: {
    beams: number;
    weight: number;
    word_weight: number;
    video_weight: number;
    av_log_probs: string;
    video_log_probs: string;
    shape: [number, number];
    nbest: { text: string; tokens: number[]; ctc: number; words: number }[];
  };
}

function present<T>(value: T | undefined, what: string): T {
  assert.ok(value !== undefined, `${what} is missing`);
  return value;
}

function f32(b64: string): Float32Array {
  const buf = Buffer.from(b64, 'base64');
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length, 'tensor sizes differ');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] ?? NaN) - (b[i] ?? NaN)));
  return m;
}

/** Concatenate [1, n_i, d] tensors along the sequence axis. */
function concatSeq(parts: ort.Tensor[], d: number): ort.Tensor {
  const total = parts.reduce((s, p) => s + (p.dims[1] as number), 0);
  const out = new Float32Array(total * d);
  let off = 0;
  for (const p of parts) {
    out.set(p.data as Float32Array, off);
    off += (p.dims[1] as number) * d;
  }
  return new ort.Tensor('float32', out, [1, total, d]);
}

function bundleBytes(dir: string): number {
  return readdirSync(dir).reduce((s, f) => {
    const p = join(dir, f);
    return s + (statSync(p).isDirectory() ? bundleBytes(p) : statSync(p).size);
  }, 0);
}

test('native-models bundle: ONNX Runtime matches PyTorch at every scale', async (t) => {
  const bundleDir = testBundleDirectory();
  const manifest = JSON.parse(readFileSync(join(bundleDir, 'manifest.json'), 'utf8')) as Manifest;
  const fixture = JSON.parse(readFileSync(join(bundleDir, manifest.parity.file), 'utf8')) as Fixture;
  assert.ok(bundleBytes(bundleDir) <= 30 * 1024 * 1024, 'bundle is at most 30 MB');
  const open = (key: string) => ort.InferenceSession.create(join(bundleDir, present(manifest.graphs[key], `graph ${key}`).file));
  // one set of sessions serves every scale
  const [audio, video, embed, decoder] = await Promise.all([open('audio_encoder'), open('video_encoder'), open('token_embed'), open('decoder')]);
  const d = manifest.lm.dim;
  const { layers: L, heads: H } = manifest.lm;
  const dh = d / H;
  const aOut = await audio.run({ pcm: new ort.Tensor('float32', f32(fixture.pcm), fixture.pcm_shape) });
  const vOut = await video.run({ frames: new ort.Tensor('float32', f32(fixture.frames), fixture.frames_shape) });
  const embedIds = async (ids: number[]) =>
    present((await embed.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]) })).embeds, 'embeds');
  const special = (name: string) => present(manifest.special_tokens[name], `special token ${name}`);
  const emptyPast = new ort.Tensor('float32', new Float32Array(0), [L, 2, 1, H, 0, dh]);

  await t.test('CTC head, and the engine scores its prefixes as the evaluation does', () => {
    const ctc = present(aOut[manifest.decoding.ctc.output], manifest.decoding.ctc.output);
    assert.deepEqual(ctc.dims, fixture.ctc_log_probs_shape);
    const diff = maxAbsDiff(ctc.data as Float32Array, f32(fixture.ctc_log_probs));
    assert.ok(diff < TOLERANCE, `CTC log-probabilities max abs diff ${diff}`);
    const [, frames, symbols] = ctc.dims as [number, number, number];
    const scorer = new CtcPrefixScorer(ctc.data as Float32Array, frames, symbols, manifest.decoding.ctc.blank);
    let state = scorer.initial();
    for (const [i, id] of fixture.text_ids.entries()) {
      state = scorer.extend(state, id);
      const want = present(fixture.ctc_prefix_scores[i], `prefix score ${i}`);
      // log-probabilities summed over ~60 frames: the graph's float32 differences add up, relative to the size
      assert.ok(Math.abs(state.score - want) < 1e-3 * Math.max(1, Math.abs(want)), `prefix ${i}: ${state.score} vs ${want}`);
    }
    const final = scorer.final(state);
    assert.ok(Math.abs(final - fixture.ctc_final_score) < 1e-3 * Math.max(1, Math.abs(fixture.ctc_final_score)), `final: ${final} vs ${fixture.ctc_final_score}`);
  });

  await t.test('audio-visual CTC head, on the encoders\' features', async (sub) => {
    const output = manifest.decoding.ctc.audio_visual_output;
    if (output === undefined || fixture.av_ctc_log_probs === undefined) {
      sub.skip('this bundle has no audio-visual CTC head');
      return;
    }
    const head = await open('av_ctc');
    const audioFeatures = present(aOut.audio_features, 'audio_features');
    const videoFeatures = present(vOut.video_features, 'video_features');
    // the fixture's streams are equally long, so nothing is cut here
    assert.equal(audioFeatures.dims[1], videoFeatures.dims[1]);
    const outputs = await head.run({ audio_features: audioFeatures, video_features: videoFeatures });
    const got = present(outputs[output], output);
    assert.deepEqual(got.dims, fixture.av_ctc_log_probs_shape);
    const diff = maxAbsDiff(got.data as Float32Array, f32(fixture.av_ctc_log_probs));
    assert.ok(diff < TOLERANCE, `audio-visual CTC log-probabilities max abs diff ${diff}`);
    const phoneOutput = manifest.decoding.phones?.audio_visual_output;
    if (phoneOutput !== undefined) {
      const phones = present(outputs[phoneOutput], phoneOutput);
      assert.deepEqual(phones.dims, fixture.av_phone_log_probs_shape);
      const phoneDiff = maxAbsDiff(phones.data as Float32Array, f32(present(fixture.av_phone_log_probs, 'audio-visual phone log-probabilities')));
      assert.ok(phoneDiff < TOLERANCE, `audio-visual phone log-probabilities max abs diff ${phoneDiff}`);
    }
    // the time axis is dynamic: streams longer than the ones the graph was exported with keep every frame
    const twice = (tensor: ort.Tensor) => {
      const [, frames, dim] = tensor.dims as [number, number, number];
      const data = tensor.data as Float32Array;
      const doubled = new Float32Array(2 * data.length);
      doubled.set(data);
      doubled.set(data, data.length);
      return new ort.Tensor('float32', doubled, [1, 2 * frames, dim]);
    };
    const longer = present((await head.run({ audio_features: twice(twice(audioFeatures)), video_features: twice(twice(videoFeatures)) }))[output], output);
    assert.deepEqual(longer.dims, [1, 8 * (audioFeatures.dims[1] as number), manifest.lm.vocab_size]);
    await head.release();
  });

  await t.test('the engine\'s word LM scores every character as the evaluation does', (sub) => {
    const spec = manifest.decoding.word_lm;
    if (!spec || !fixture.word_lm) {
      sub.skip('this bundle has no word LM');
      return;
    }
    const lm = WordLm.parse(readBundleJson(bundleDir, spec.file));
    for (const { text, character_scores: want } of fixture.word_lm) {
      let state = lm.start();
      const symbols: NextSymbol[] = [...text].map((character) => ({ kind: 'character', character }));
      const got = [...symbols, { kind: 'end' } as const].map((symbol) => {
        const next = lm.score(state, symbol);
        state = next.state;
        return next.score;
      });
      assert.equal(got.length, want.length, text);
      for (const [i, score] of got.entries()) assert.ok(Math.abs(score - want[i]!) < 1e-9, `"${text}" symbol ${i}: ${score} vs ${want[i]}`);
    }
  });

  await t.test('the engine\'s CTC prefix beam search finds the N best the evaluation finds', (sub) => {
    const spec = manifest.decoding.word_lm;
    const search = fixture.ctc_beam;
    if (!spec || !search) {
      sub.skip('this bundle has no word LM or no search fixture');
      return;
    }
    const lm = WordLm.parse(readBundleJson(bundleDir, spec.file));
    const tokenizer = CharTokenizer.parse(JSON.parse(readFileSync(join(bundleDir, manifest.tokenizer.file), 'utf8')), manifest.lm.vocab_size);
    const alphabet = searchAlphabet(tokenizer, manifest.lm.vocab_size, manifest.decoding.ctc.blank);
    const [frames, symbols] = search.shape;
    const got = ctcPrefixBeamSearch(f32(search.log_probs), frames, symbols, alphabet, {
      beams: search.beams,
      ctcWeight: search.weight,
      words: { lm, weight: search.word_weight },
    });
    assert.deepEqual(got.map((entry) => entry.tokens), search.nbest.map((entry) => entry.tokens));
    for (const [i, want] of search.nbest.entries()) {
      for (const part of ['ctc', 'words'] as const) {
        const score = got[i]![part];
        assert.ok(Math.abs(score - want[part]) < 1e-9 * Math.max(1, Math.abs(want[part])), `entry ${i} ${part}: ${score} vs ${want[part]}`);
      }
    }
  });

  await t.test('the phone head, and the engine\'s phone search finds and spells the N best the evaluation does', (sub) => {
    const spec = manifest.decoding.phones;
    const search = fixture.phone_beam;
    if (!spec || !search || !manifest.decoding.word_lm) {
      sub.skip('this bundle has no phone head');
      return;
    }
    const phone = present(aOut[spec.output], spec.output);
    assert.deepEqual(phone.dims, fixture.phone_log_probs_shape);
    const diff = maxAbsDiff(phone.data as Float32Array, f32(present(fixture.phone_log_probs, 'phone log-probabilities')));
    assert.ok(diff < TOLERANCE, `phone log-probabilities max abs diff ${diff}`);
    const lexicon = PhoneLexicon.parse(readBundleJson(bundleDir, spec.file), spec.blank);
    const spelled = WordLm.parse(readBundleJson(bundleDir, manifest.decoding.word_lm.file));
    const tokenizer = CharTokenizer.parse(JSON.parse(readFileSync(join(bundleDir, manifest.tokenizer.file), 'utf8')), manifest.lm.vocab_size);
    const [frames, symbols] = search.shape;
    const got = phoneNBest(f32(search.log_probs), frames, symbols, lexicon, spelled, tokenizer, { beams: search.beams, ctcWeight: search.weight, wordWeight: search.word_weight });
    assert.deepEqual(got.map((entry) => tokenizer.decode(entry.tokens)), search.nbest.map((entry) => entry.text));
    assert.deepEqual(got.map((entry) => entry.tokens), search.nbest.map((entry) => entry.tokens));
    for (const [i, want] of search.nbest.entries()) {
      for (const part of ['ctc', 'words'] as const) {
        const score = got[i]![part];
        assert.ok(Math.abs(score - want[part]) < 1e-9 * Math.max(1, Math.abs(want[part])), `entry ${i} ${part}: ${score} vs ${want[part]}`);
      }
    }
    // homophones the next word or the sentence's end decides, spelled as the evaluation spells them
    for (const { phones, text } of fixture.spellings ?? []) assert.equal(lexicon.spell(phones, spelled), text, `spelling of "${text}"`);
    // an unsure audio-visual chunk: the two phone heads' searches pooled and ranked by both, as the evaluation does
    const fused = fixture.fused_phone_beam;
    if (fused) {
      const [fusedFrames, fusedSymbols] = fused.shape;
      const pooled = fusedPhoneNBest(
        { logProbs: f32(fused.av_log_probs), frames: fusedFrames },
        { logProbs: f32(fused.video_log_probs), frames: fusedFrames },
        fusedSymbols,
        lexicon,
        spelled,
        tokenizer,
        { beams: fused.beams, ctcWeight: fused.weight, wordWeight: fused.word_weight, videoWeight: fused.video_weight },
      );
      assert.deepEqual(pooled.map((entry) => tokenizer.decode(entry.tokens)), fused.nbest.map((entry) => entry.text));
      for (const [i, want] of fused.nbest.entries()) {
        for (const part of ['ctc', 'words'] as const) {
          const score = pooled[i]![part];
          assert.ok(Math.abs(score - want[part]) < 1e-9 * Math.max(1, Math.abs(want[part])), `fused entry ${i} ${part}: ${score} vs ${want[part]}`);
        }
      }
    }
  });

  await t.test('the video encoder\'s phone head (what a chunk without audio searches)', (sub) => {
    const output = manifest.decoding.phones?.video_output;
    if (output === undefined) {
      sub.skip('this bundle has no video phone head');
      return;
    }
    const phone = present(vOut[output], output);
    assert.deepEqual(phone.dims, fixture.video_phone_log_probs_shape);
    const diff = maxAbsDiff(phone.data as Float32Array, f32(present(fixture.video_phone_log_probs, 'video phone log-probabilities')));
    assert.ok(diff < TOLERANCE, `video phone log-probabilities max abs diff ${diff}`);
  });

  for (const [k, scale] of manifest.scales.entries()) {
    await t.test(`scale ${scale.id} (a=${scale.audio_rate}, v=${scale.video_rate})`, async () => {
      const ref = present(fixture.scales[k], `parity fixture for scale ${scale.id}`);
      const at = present(aOut[scale.encoder_outputs.audio], scale.encoder_outputs.audio);
      const vt = present(vOut[scale.encoder_outputs.video], scale.encoder_outputs.video);
      assert.deepEqual(at.dims, ref.audio_tokens_shape);
      assert.deepEqual(vt.dims, ref.video_tokens_shape);
      assert.ok(maxAbsDiff(at.data as Float32Array, f32(ref.audio_tokens)) < TOLERANCE, 'audio tokens');
      assert.ok(maxAbsDiff(vt.data as Float32Array, f32(ref.video_tokens)) < TOLERANCE, 'video tokens');

      const adapterBuf = readFileSync(join(bundleDir, scale.adapter.file));
      const lora: Record<string, ort.Tensor> = {};
      for (const spec of scale.adapter.tensors) {
        const bytes = adapterBuf.buffer.slice(adapterBuf.byteOffset + spec.byte_offset, adapterBuf.byteOffset + spec.byte_offset + spec.byte_length);
        lora[spec.name] = new ort.Tensor('float32', new Float32Array(bytes), spec.shape);
      }
      const prefix = concatSeq([
        await embedIds([special('bos'), special('audio_start')]), at,
        await embedIds([special('audio_end'), special('video_start')]), vt,
        await embedIds([special('video_end'), ...present(manifest.prompts[fixture.task], `prompt ${fixture.task}`)]),
      ], d);
      assert.equal(prefix.dims[1], ref.prefix_len);
      const full = concatSeq([prefix, await embedIds(fixture.text_ids)], d);
      const out = await decoder.run({ inputs_embeds: full, past_kv: emptyPast, ...lora });
      const logits = present(out.logits, 'logits');
      assert.deepEqual(logits.dims, ref.logits_shape);
      const refLogits = f32(ref.logits);
      const diff = maxAbsDiff(logits.data as Float32Array, refLogits);
      assert.ok(diff < TOLERANCE, `logits max abs diff ${diff}`);

      // KV cache: prefix once, then one token per call; every step matches the full pass
      let step = await decoder.run({ inputs_embeds: prefix, past_kv: emptyPast, ...lora });
      const V = present(ref.logits_shape[2], 'vocabulary size');
      for (const [i, id] of fixture.text_ids.entries()) {
        step = await decoder.run({ inputs_embeds: await embedIds([id]), past_kv: present(step.present_kv, 'present_kv'), ...lora });
        const pos = ref.prefix_len + i;
        const want = refLogits.subarray(pos * V, (pos + 1) * V);
        const got = (present(step.logits, 'logits').data as Float32Array).subarray(0, V);
        const stepDiff = maxAbsDiff(got, want);
        assert.ok(stepDiff < TOLERANCE, `cached step ${i} max abs diff ${stepDiff}`);
      }
      assert.deepEqual(present(step.present_kv, 'present_kv').dims, [L, 2, 1, H, ref.prefix_len + fixture.text_ids.length, dh]);
    });
  }
});
