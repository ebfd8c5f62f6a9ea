import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { loadBundle } from '../../electron/engine/bundle.js';
import { ctcPrefixBeamSearch, searchAlphabet } from '../../electron/engine/ctc-beam-search.js';
import { meanTopProbability } from '../../electron/engine/ctc-likelihood.js';
import { fusedPhoneNBest, phoneNBest } from '../../electron/engine/phone-search.js';
import { defaultDecoding, Recognizer, type Decoding } from '../../electron/engine/recognizer.js';
import { framesAt, playAt, voteWords, wordsOf } from '../../electron/engine/speed-vote.js';
import { wordErrorRate } from '../../electron/engine/word-error-rate.js';
import { engineTestUtterances, withBabble } from '../support/av-corpus.js';
import { testBundleDirectory } from '../support/bundle.js';

/**
 * Joint CTC + LM decoding on the real bundle and generated speech: it runs wherever there is
 * audio and only there, weight 0 turns it off, drafting ahead changes no transcript, rescoring picks
 * from the CTC search's N best, and no search makes the transcripts worse than the LM alone (the bundle's evaluation compares the two on more
 * speech, EVAL.md section 1b).
 */
test('joint CTC + LM decoding', async (t) => {
  const bundle = await loadBundle(ort, testBundleDirectory(), { device: 'cpu', autoCandidates: ['cpu'] });
  t.after(() => bundle.release());
  const ctc = bundle.manifest.decoding.ctc;
  if (!ctc || ctc.weight === 0) {
    t.skip(`bundle ${bundle.manifest.id} exports no CTC head; it decodes with the LM alone`);
    return;
  }
  const roi = bundle.manifest.roi.width;
  const utterances = engineTestUtterances(roi);
  const recognizer = new Recognizer(ort, bundle);
  const coarsest = bundle.manifest.scales.length - 1;

  const transcribe = async (decoding: Decoding, scaleIndex: number) => {
    const results = [];
    for (const utterance of utterances) results.push(await recognizer.recognize({ pcm: utterance.pcm }, { scaleIndex, decoding }));
    const wer = wordErrorRate(results.map((result, index) => ({ reference: utterances[index]!.transcript, hypothesis: result.text }))).rate;
    return { results, wer };
  };

  await t.test('audio chunks are scored by the CTC head, video-only chunks are not', async () => {
    const [first] = utterances;
    const audio = await recognizer.recognize({ pcm: first!.pcm }, { scaleIndex: 0, decoding: { kind: 'greedy' } });
    assert.ok(audio.timings.ctcMs > 0, 'an audio chunk was decoded jointly');
    const video = await recognizer.recognize({ frames: { pixels: first!.frames, count: first!.frameCount } }, { scaleIndex: 0, decoding: { kind: 'greedy' } });
    assert.equal(video.timings.ctcMs, 0);
    const off = await recognizer.recognize({ pcm: first!.pcm }, { scaleIndex: 0, decoding: { kind: 'greedy', ctcWeight: 0 } });
    assert.equal(off.timings.ctcMs, 0);
    await assert.rejects(recognizer.recognize({ pcm: first!.pcm }, { scaleIndex: 0, decoding: { kind: 'greedy', ctcWeight: 1 } }), /CTC weight 1 is outside/);
  });

  await t.test('the word LM joins the scoring where the bundle has one, and weight 0 turns it off', async (sub) => {
    const spec = bundle.manifest.decoding.wordLm;
    if (!bundle.wordLm || !spec) {
      sub.skip(`bundle ${bundle.manifest.id} has no word LM`);
      return;
    }
    const [first] = utterances;
    const weight = spec.weight > 0 ? spec.weight : 0.3;
    const fused = await recognizer.recognize({ pcm: first!.pcm }, { scaleIndex: 0, decoding: { kind: 'greedy', wordWeight: weight } });
    assert.ok(fused.timings.wordLmMs > 0, 'the word LM scored the candidates');
    const video = await recognizer.recognize({ frames: { pixels: first!.frames, count: first!.frameCount } }, { scaleIndex: 0, decoding: { kind: 'greedy', wordWeight: weight } });
    assert.ok(video.timings.wordLmMs > 0, 'video-only chunks get the word LM too');
    const off = await recognizer.recognize({ pcm: first!.pcm }, { scaleIndex: 0, decoding: { kind: 'greedy', wordWeight: 0 } });
    assert.equal(off.timings.wordLmMs, 0);
    await assert.rejects(recognizer.recognize({ pcm: first!.pcm }, { scaleIndex: 0, decoding: { kind: 'greedy', wordWeight: -1 } }), /word-LM weight -1 is not/);
    // drafting still gives the step-by-step transcript with the word LM in the scoring
    const drafted = await transcribe({ kind: 'greedy', wordWeight: weight }, 0);
    const stepByStep = await transcribe({ kind: 'greedy', stepByStep: true, wordWeight: weight }, 0);
    assert.deepEqual(drafted.results.map((result) => result.text), stepByStep.results.map((result) => result.text));
    const without = await transcribe({ kind: 'greedy', wordWeight: 0 }, 0);
    t.diagnostic(`finest scale WER: ${(100 * drafted.wer).toFixed(1)}% with the word LM at ${weight}, ${(100 * without.wer).toFixed(1)}% without`);
  });

  await t.test('drafting from the CTC best path gives the step-by-step transcript at every scale', async () => {
    for (const scaleIndex of bundle.manifest.scales.keys()) {
      const drafted = await transcribe({ kind: 'greedy' }, scaleIndex);
      const stepByStep = await transcribe({ kind: 'greedy', stepByStep: true }, scaleIndex);
      assert.deepEqual(drafted.results.map((result) => result.text), stepByStep.results.map((result) => result.text));
      // one position per token step by step; drafting also computes the drafts it rejects
      assert.ok(stepByStep.results.every((result) => result.decodedPositions === result.generatedTokens));
      assert.ok(drafted.results.every((result) => result.decodedPositions >= result.generatedTokens));
      const calls = (run: typeof drafted) => run.results.reduce((sum, result) => sum + result.timings.decodeMs, 0);
      t.diagnostic(`${bundle.manifest.scales[scaleIndex]!.id}: decoding ${calls(drafted).toFixed(0)} ms drafted, ${calls(stepByStep).toFixed(0)} ms step by step`);
    }
  });

  await t.test('rescoring picks one of the audio search\'s N best (the phone head\'s where the bundle has one), the search alone takes its best; without audio or CTC weight they decode as greedy does', async () => {
    const beams = 6;
    const wordWeight = bundle.manifest.decoding.wordLm?.weight ?? 0;
    const alphabet = searchAlphabet(bundle.tokenizer, bundle.manifest.lm.vocabSize, ctc.blank);
    const phones = bundle.manifest.decoding.phones;
    const audioNBest = async (pcm: Float32Array) => {
      const head = phones?.output ?? ctc.output;
      const logProbs = (await bundle.sessions.audioEncoder.run({ pcm: new ort.Tensor('float32', pcm, [1, pcm.length]) }, [head]))[head]!;
      const [, frames, symbols] = logProbs.dims as [number, number, number];
      if (phones) {
        return phoneNBest(logProbs.data as Float32Array, frames, symbols, bundle.phones!, bundle.wordLm!, bundle.tokenizer, { beams, ctcWeight: ctc.weight, wordWeight });
      }
      return ctcPrefixBeamSearch(logProbs.data as Float32Array, frames, symbols, alphabet, {
        beams,
        ctcWeight: ctc.weight,
        words: bundle.wordLm && { lm: bundle.wordLm, weight: wordWeight },
      });
    };
    t.diagnostic(`audio chunks search the ${phones ? 'phone' : 'character'} head`);
    for (const utterance of utterances.slice(0, 3)) {
      const nbest = await audioNBest(utterance.pcm);
      for (const scaleIndex of [0, coarsest]) {
        const rescored = await recognizer.recognize({ pcm: utterance.pcm }, { scaleIndex, decoding: { kind: 'rescore', beams } });
        assert.ok(nbest.some((entry) => bundle.tokenizer.decode(entry.tokens) === rescored.text), `"${rescored.text}" is one of the N best`);
        assert.ok(rescored.timings.ctcMs > 0 && rescored.timings.prefillMs > 0);
        // every entry's transcript and end were scored, their common beginning once
        const lengths = nbest.map((entry) => entry.tokens.length);
        assert.ok(rescored.decodedPositions >= Math.max(...lengths) && rescored.decodedPositions <= beams * Math.max(...lengths));
        assert.ok(rescored.confidence > 0 && rescored.confidence <= 1);
      }
    }
    const [first] = utterances;
    const frames = { pixels: first!.frames, count: first!.frameCount };
    // the search alone (live partials): its best as it is, without the LM or the video
    const searched = await recognizer.recognize({ pcm: first!.pcm, frames }, { scaleIndex: 0, decoding: { kind: 'ctc-search', beams } });
    const [best] = await audioNBest(first!.pcm);
    assert.equal(searched.text, bundle.tokenizer.decode(best!.tokens));
    assert.equal(searched.task, 'asr');
    assert.equal(searched.timings.prefillMs, 0);
    assert.equal(searched.decodedPositions, 0);
    if (phones?.videoOutput === undefined) {
      const video = await recognizer.recognize({ frames }, { scaleIndex: 0, decoding: { kind: 'rescore', beams } });
      assert.equal(video.text, (await recognizer.recognize({ frames }, { scaleIndex: 0, decoding: { kind: 'greedy' } })).text);
    }
    const lmAlone = await recognizer.recognize({ pcm: first!.pcm }, { scaleIndex: 0, decoding: { kind: 'rescore', beams, ctcWeight: 0 } });
    assert.equal(lmAlone.text, (await recognizer.recognize({ pcm: first!.pcm }, { scaleIndex: 0, decoding: { kind: 'greedy', ctcWeight: 0 } })).text);
    await assert.rejects(recognizer.recognize({ pcm: first!.pcm }, { scaleIndex: 0, decoding: { kind: 'rescore', beams: 0 } }), /beam count 0/);
    await assert.rejects(recognizer.recognize({ pcm: first!.pcm }, { scaleIndex: 0, decoding: { kind: 'rescore', beams: 0, searchBeams: 16 } }), /beam count 0/);
    await assert.rejects(recognizer.recognize({ pcm: first!.pcm }, { scaleIndex: 0, decoding: { kind: 'rescore', beams: 4, videoFusion: { weight: 0, belowConfidence: 0.9 } } }), /video fusion weight 0 must be above 0/);
    // A wide search with one transcript left for the LM: the LM has nothing to choose, so the search's best
    // stands. And the LM's score of a transcript does not depend on how the N best split it between the
    // decoder's calls: alone, all of it rides with the prefix; among eight, only their common beginning does.
    let scoredBothWays = 0;
    for (const utterance of utterances) {
      const wide = await recognizer.recognize({ pcm: utterance.pcm }, { scaleIndex: 0, decoding: { kind: 'ctc-search', beams: 16 } });
      const rescoredOne = await recognizer.recognize({ pcm: utterance.pcm }, { scaleIndex: 0, decoding: { kind: 'rescore', beams: 1, searchBeams: 16 } });
      assert.equal(rescoredOne.text, wide.text);
      const rescoredEight = await recognizer.recognize({ pcm: utterance.pcm }, { scaleIndex: 0, decoding: { kind: 'rescore', beams: 8, searchBeams: 16 } });
      if (rescoredEight.text !== rescoredOne.text) continue;
      scoredBothWays += 1;
      assert.ok(Math.abs(Math.log(rescoredEight.confidence) - Math.log(rescoredOne.confidence)) < 1e-4, `"${rescoredOne.text}": ${rescoredOne.confidence} alone, ${rescoredEight.confidence} among eight`);
    }
    assert.ok(scoredBothWays > 0, 'some utterance kept its search\'s best among eight');
    // a scale with a budget of its own searches and rescores that many; the others keep the decoding's
    const scaleSearch = new Map([[bundle.manifest.scales[coarsest]!.id, { searchBeams: 16, beams: 1 }]]);
    for (const utterance of utterances.slice(0, 3)) {
      const chunk = { pcm: utterance.pcm };
      const budgeted = { kind: 'rescore', beams: 4, searchBeams: 4, scaleSearch } as const;
      const atCoarsest = await recognizer.recognize(chunk, { scaleIndex: coarsest, decoding: budgeted });
      assert.equal(atCoarsest.text, (await recognizer.recognize(chunk, { scaleIndex: coarsest, decoding: { kind: 'ctc-search', beams: 16 } })).text);
      assert.equal(atCoarsest.decodedPositions, (await recognizer.recognize(chunk, { scaleIndex: coarsest, decoding: { kind: 'rescore', beams: 1, searchBeams: 16 } })).decodedPositions);
      const atFinest = await recognizer.recognize(chunk, { scaleIndex: 0, decoding: budgeted });
      assert.equal(atFinest.text, (await recognizer.recognize(chunk, { scaleIndex: 0, decoding: { kind: 'rescore', beams: 4, searchBeams: 4 } })).text);
      const partial = await recognizer.recognize(chunk, { scaleIndex: coarsest, decoding: { kind: 'ctc-search', beams: 4, scaleSearch } });
      assert.equal(partial.text, atCoarsest.text);
    }
  });

  await t.test('audio-visual chunks search the audio-visual CTC head where the bundle has one; partials stay with the audio', async (sub) => {
    const audioVisual = ctc.audioVisual;
    const head = bundle.sessions.avCtc;
    if (!audioVisual || !head) {
      sub.skip(`bundle ${bundle.manifest.id} has no audio-visual CTC head`);
      return;
    }
    const beams = 6;
    const wordWeight = bundle.manifest.decoding.wordLm?.weight ?? 0;
    const alphabet = searchAlphabet(bundle.tokenizer, bundle.manifest.lm.vocabSize, ctc.blank);
    const { width, height } = bundle.manifest.roi;
    for (const utterance of utterances.slice(0, 3)) {
      const audio = (await bundle.sessions.audioEncoder.run({ pcm: new ort.Tensor('float32', utterance.pcm, [1, utterance.pcm.length]) }, [audioVisual.audioFeatures]))[audioVisual.audioFeatures]!;
      const pixels = Float32Array.from(utterance.frames);
      const video = (await bundle.sessions.videoEncoder.run({ frames: new ort.Tensor('float32', pixels, [1, utterance.frameCount, height, width]) }, [audioVisual.videoFeatures]))[audioVisual.videoFeatures]!;
      const [, audioFrames, audioDim] = audio.dims as [number, number, number];
      const [, videoFrames, videoDim] = video.dims as [number, number, number];
      const common = Math.min(audioFrames, videoFrames);
      const heads: ort.InferenceSession.OnnxValueMapType = await head.run({
        [audioVisual.audioFeatures]: new ort.Tensor('float32', (audio.data as Float32Array).slice(0, common * audioDim), [1, common, audioDim]),
        [audioVisual.videoFeatures]: new ort.Tensor('float32', (video.data as Float32Array).slice(0, common * videoDim), [1, common, videoDim]),
      });
      const logProbs: ort.Tensor = heads[audioVisual.output]!;
      assert.deepEqual(logProbs.dims, [1, 2 * common, bundle.manifest.lm.vocabSize]);
      // the audio-visual phone head's N best where the bundle has one
      const phoneOutput = bundle.manifest.decoding.phones?.audioVisualOutput;
      const phoneLogProbs = phoneOutput === undefined ? undefined : heads[phoneOutput]!;
      const nbest = phoneLogProbs
        ? phoneNBest(phoneLogProbs.data as Float32Array, 2 * common, phoneLogProbs.dims[2] as number, bundle.phones!, bundle.wordLm!, bundle.tokenizer, { beams, ctcWeight: ctc.weight, wordWeight })
        : ctcPrefixBeamSearch(logProbs.data as Float32Array, 2 * common, bundle.manifest.lm.vocabSize, alphabet, {
            beams,
            ctcWeight: ctc.weight,
            words: bundle.wordLm && { lm: bundle.wordLm, weight: wordWeight },
          });
      const chunk = { pcm: utterance.pcm, frames: { pixels: utterance.frames, count: utterance.frameCount } };
      const rescored = await recognizer.recognize(chunk, { scaleIndex: coarsest, decoding: { kind: 'rescore', beams } });
      assert.equal(rescored.task, 'avsr');
      assert.ok(nbest.some((entry) => bundle.tokenizer.decode(entry.tokens) === rescored.text), `"${rescored.text}" is one of the audio-visual N best`);
      const partial = await recognizer.recognize(chunk, { scaleIndex: 0, decoding: { kind: 'ctc-search', beams } });
      assert.equal(partial.task, 'asr');
      assert.equal(partial.text, (await recognizer.recognize({ pcm: utterance.pcm }, { scaleIndex: 0, decoding: { kind: 'ctc-search', beams } })).text);
    }
  });

  await t.test('in babble, an audio-visual chunk its phone head is unsure of pools the lip reader\'s search with its own; a surer one keeps its own', async (sub) => {
    const phones = bundle.manifest.decoding.phones;
    const audioVisual = ctc.audioVisual;
    const head = bundle.sessions.avCtc;
    if (!audioVisual || !head || phones?.audioVisualOutput === undefined || phones.videoOutput === undefined) {
      sub.skip(`bundle ${bundle.manifest.id} lacks the audio-visual or the video phone head`);
      return;
    }
    const searchBeams = 6;
    const videoWeight = 0.5;
    const wordWeight = bundle.manifest.decoding.wordLm?.weight ?? 0;
    const { width, height } = bundle.manifest.roi;
    let differing = 0;
    for (const [index, utterance] of utterances.slice(0, 3).entries()) {
      const pcm = withBabble(utterance.pcm, [1, 2, 3].map((offset) => utterances[(index + offset) % utterances.length]!.pcm), 0);
      const audio = (await bundle.sessions.audioEncoder.run({ pcm: new ort.Tensor('float32', pcm, [1, pcm.length]) }, [audioVisual.audioFeatures]))[audioVisual.audioFeatures]!;
      const pixels = Float32Array.from(utterance.frames);
      const video = await bundle.sessions.videoEncoder.run({ frames: new ort.Tensor('float32', pixels, [1, utterance.frameCount, height, width]) }, [audioVisual.videoFeatures, phones.videoOutput]);
      const features = video[audioVisual.videoFeatures]!;
      const [, audioFrames, audioDim] = audio.dims as [number, number, number];
      const [, videoFrames, videoDim] = features.dims as [number, number, number];
      const common = Math.min(audioFrames, videoFrames);
      const heads = await head.run({
        [audioVisual.audioFeatures]: new ort.Tensor('float32', (audio.data as Float32Array).slice(0, common * audioDim), [1, common, audioDim]),
        [audioVisual.videoFeatures]: new ort.Tensor('float32', (features.data as Float32Array).slice(0, common * videoDim), [1, common, videoDim]),
      });
      const own = heads[phones.audioVisualOutput]!;
      const lipReader = video[phones.videoOutput]!;
      const [, ownFrames, symbols] = own.dims as [number, number, number];
      const options = { beams: searchBeams, ctcWeight: ctc.weight, wordWeight };
      const alone = phoneNBest(own.data as Float32Array, ownFrames, symbols, bundle.phones!, bundle.wordLm!, bundle.tokenizer, options);
      const pooled = fusedPhoneNBest(
        { logProbs: own.data as Float32Array, frames: ownFrames },
        { logProbs: lipReader.data as Float32Array, frames: lipReader.dims[1] as number },
        symbols,
        bundle.phones!,
        bundle.wordLm!,
        bundle.tokenizer,
        { ...options, videoWeight },
      );
      const confidence = meanTopProbability(own.data as Float32Array, ownFrames, symbols);
      assert.ok(confidence > 0 && confidence < 1, `mean top probability ${confidence}`);
      // one transcript rescored: the search's best is the caption
      const caption = async (belowConfidence: number) =>
        (await recognizer.recognize({ pcm, frames: { pixels: utterance.frames, count: utterance.frameCount } }, { scaleIndex: 0, decoding: { kind: 'rescore', beams: 1, searchBeams, videoFusion: { weight: videoWeight, belowConfidence } } })).text;
      assert.equal(await caption(Math.min(1, confidence + 1e-6)), bundle.tokenizer.decode(pooled[0]!.tokens), 'unsure: the pooled search');
      assert.equal(await caption(confidence), bundle.tokenizer.decode(alone[0]!.tokens), 'as sure as the threshold: its own search');
      if (pooled[0]!.tokens.join() !== alone[0]!.tokens.join()) differing += 1;
    }
    t.diagnostic(`0 dB babble: the lip reader changed the search's best in ${differing} of 3 chunks`);
  });

  await t.test('video-only chunks search the video phone head where the bundle has one, and the LM rescores its N best', async (sub) => {
    const output = bundle.manifest.decoding.phones?.videoOutput;
    if (output === undefined) {
      sub.skip(`bundle ${bundle.manifest.id} has no video phone head; video-only chunks decode greedily`);
      return;
    }
    const beams = 6;
    const wordWeight = bundle.manifest.decoding.wordLm?.weight ?? 0;
    const { width, height } = bundle.manifest.roi;
    for (const utterance of utterances.slice(0, 3)) {
      const frames = { pixels: utterance.frames, count: utterance.frameCount };
      const pixels = Float32Array.from(utterance.frames);
      const logProbs = (await bundle.sessions.videoEncoder.run({ frames: new ort.Tensor('float32', pixels, [1, utterance.frameCount, height, width]) }, [output]))[output]!;
      const [, steps, symbols] = logProbs.dims as [number, number, number];
      assert.equal(steps, 2 * utterance.frameCount, 'two phone symbols per lip frame');
      const nbest = phoneNBest(logProbs.data as Float32Array, steps, symbols, bundle.phones!, bundle.wordLm!, bundle.tokenizer, { beams, ctcWeight: ctc.weight, wordWeight });
      for (const scaleIndex of [0, coarsest]) {
        const rescored = await recognizer.recognize({ frames }, { scaleIndex, decoding: { kind: 'rescore', beams } });
        assert.equal(rescored.task, 'vsr');
        assert.ok(nbest.some((entry) => bundle.tokenizer.decode(entry.tokens) === rescored.text), `"${rescored.text}" is one of the video N best`);
        assert.ok(rescored.timings.ctcMs > 0 && rescored.timings.prefillMs > 0);
      }
      // a live partial of a video-only chunk: the search's best, no LM call
      const partial = await recognizer.recognize({ frames }, { scaleIndex: 0, decoding: { kind: 'ctc-search', beams } });
      assert.equal(partial.task, 'vsr');
      assert.equal(partial.text, bundle.tokenizer.decode(nbest[0]!.tokens));
      assert.equal(partial.timings.prefillMs, 0);
    }
  });

  await t.test('the speed vote: the rescored transcript voted word by word with the chunk searched at other speeds', async () => {
    const speedVote = { speeds: [0.9, 1.1], searchBeams: 8 };
    const beams = 4;
    let changed = 0;
    for (const utterance of utterances.slice(0, 4)) {
      const frames = { pixels: utterance.frames, count: utterance.frameCount };
      for (const chunk of [{ pcm: utterance.pcm }, { pcm: utterance.pcm, frames }]) {
        const plain = await recognizer.recognize(chunk, { scaleIndex: 0, decoding: { kind: 'rescore', beams } });
        const voted = await recognizer.recognize(chunk, { scaleIndex: 0, decoding: { kind: 'rescore', beams, speedVote } });
        // a ballot is the search's best at that speed, on the head the chunk's own search took: with one
        // transcript to rescore, the LM has nothing to choose and the search's best stands
        const ballots = [];
        for (const speed of speedVote.speeds) {
          const played = { pcm: playAt(utterance.pcm, speed), ...('frames' in chunk ? { frames: framesAt(frames, speed) } : {}) };
          const searched = await recognizer.recognize(played, { scaleIndex: 0, decoding: { kind: 'rescore', beams: 1, searchBeams: speedVote.searchBeams } });
          assert.equal(searched.task, plain.task);
          ballots.push(wordsOf(searched.text));
        }
        assert.deepEqual(wordsOf(voted.text), voteWords(wordsOf(plain.text), ballots), `${plain.task}: "${plain.text}" voted with ${JSON.stringify(ballots)}`);
        if (voted.text !== plain.text) changed += 1;
        assert.equal(voted.confidence, plain.confidence);
        assert.ok(voted.timings.voteMs > 0 && plain.timings.voteMs === 0);
        // a scale the vote does not name decodes as without it
        const elsewhere = await recognizer.recognize(chunk, { scaleIndex: 0, decoding: { kind: 'rescore', beams, speedVote: { ...speedVote, scales: [bundle.manifest.scales[coarsest]!.id] } } });
        assert.equal(elsewhere.text, plain.text);
        assert.equal(elsewhere.timings.voteMs, 0);
      }
    }
    t.diagnostic(`the speed vote changed ${changed} of 8 transcripts`);
  });

  await t.test('in 0 dB babble, the face in view lowers the word error rate', async (sub) => {
    if (!ctc.audioVisual || !bundle.sessions.avCtc) {
      sub.skip(`bundle ${bundle.manifest.id} has no audio-visual CTC head`);
      return;
    }
    const decoding = defaultDecoding(bundle.manifest);
    const noisy = utterances.map((utterance, index) =>
      withBabble(utterance.pcm, [1, 2, 3].map((offset) => utterances[(index + offset) % utterances.length]!.pcm), 0));
    const rate = async (withVideo: boolean) => {
      const pairs = [];
      for (const [index, utterance] of utterances.entries()) {
        const frames = withVideo ? { pixels: utterance.frames, count: utterance.frameCount } : undefined;
        const result = await recognizer.recognize({ pcm: noisy[index]!, ...(frames && { frames }) }, { scaleIndex: 0, decoding });
        pairs.push({ reference: utterance.transcript, hypothesis: result.text });
      }
      return wordErrorRate(pairs).rate;
    };
    const audioOnly = await rate(false);
    const audioVisual = await rate(true);
    t.diagnostic(`0 dB babble, finest scale: audio-only ${(100 * audioOnly).toFixed(1)}%, audio-visual ${(100 * audioVisual).toFixed(1)}%`);
    assert.ok(audioVisual < audioOnly, `audio-visual ${(100 * audioVisual).toFixed(1)}% vs audio-only ${(100 * audioOnly).toFixed(1)}%`);
  });

  for (const decoding of [{ kind: 'greedy' }, { kind: 'beam', beams: 3 }, { kind: 'rescore', beams: 8 }] as const) {
    await t.test(`${decoding.kind}: at the coarsest scale, no worse than the LM alone`, async () => {
      const alone = await transcribe({ ...decoding, ctcWeight: 0 }, coarsest);
      const joint = await transcribe(decoding, coarsest);
      t.diagnostic(`WER at ${bundle.manifest.scales[coarsest]!.id}: LM alone ${(alone.wer * 100).toFixed(1)}%, joint ${(joint.wer * 100).toFixed(1)}%`);
      assert.ok(joint.wer <= alone.wer, `joint ${(joint.wer * 100).toFixed(1)}% vs LM alone ${(alone.wer * 100).toFixed(1)}%`);
      assert.ok(joint.results.every((result) => result.confidence > 0 && result.confidence <= 1));
    });
  }
});
