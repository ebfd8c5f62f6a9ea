import * as ort from 'onnxruntime-node';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { builtInBundleId } from '../../electron/engine/bundle-location.js';
import { loadBundle, type LoadedBundle } from '../../electron/engine/bundle.js';
import { Recognizer, type ChunkInput, type Decoding } from '../../electron/engine/recognizer.js';
import { vadFrameSamples, VoiceActivityDetector } from '../../electron/engine/voice-activity.js';
import { wordErrorRate } from '../../electron/engine/word-error-rate.js';
import { generateEvaluationCorpus, layOutTimeline, readCorpusSplit, withBabble, type Utterance } from '../support/av-corpus.js';
import { projectRoot } from '../support/browser.js';
import { measureMatmulPeak } from './matmul-peak.js';
import { liveLatencyReport, runLiveLatency, type LiveLatencyRun } from './live-latency.js';
import { runLivePolicy, type PolicyRun } from './policy-bench.js';

/**
 * `npm run bench`: the engine's speed, cost and accuracy per scale and modality on held-out
 * generated speech, with PocketSphinx on the same audio as a peer, all in one run. Prints the
 * Markdown that goes into BENCHMARKS.md and, with --write, replaces the engine section there.
 */

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: join(projectRoot, 'native-models', builtInBundleId) },
    utterances: { type: 'string', default: '30' },
    threads: { type: 'string', default: '2' },
    write: { type: 'boolean', default: false },
    'long-hours': { type: 'string', default: '3' },
    policy: { type: 'boolean', default: true },
    live: { type: 'boolean', default: true },
    'only-live': { type: 'boolean', default: false },
    passes: { type: 'string', default: '2' },
  },
  // --no-live and --no-policy skip those sections (a quick run that checks the tables, not for BENCHMARKS.md)
  allowNegative: true,
});
const threads = Number(values.threads);
// The machine is shared: each chunk is decoded this many times and its fastest pass timed, so that a
// neighbour's burst does not land in one row and not the next (the decodings are deterministic).
const passes = Math.max(1, Number(values.passes));
const utteranceCount = Number(values.utterances);
const outputDirectory = join(projectRoot, 'test-output', 'bench');
mkdirSync(outputDirectory, { recursive: true });

const percentile = (sorted: readonly number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;

type Modality = 'audio' | 'video' | 'audio-visual' | 'audio, 0 dB babble' | 'audio-visual, 0 dB babble';
const cleanModalities: readonly Modality[] = ['audio', 'audio-visual', 'video'];
// where the lip video earns its cost: the same speech under three other utterances' babble
const babbleModalities: readonly Modality[] = ['audio, 0 dB babble', 'audio-visual, 0 dB babble'];

/** An utterance, and its audio under 0 dB babble where the bench decodes that too. */
interface BenchUtterance {
  readonly utterance: Utterance;
  readonly babbled?: Float32Array;
}

function chunkFor({ utterance, babbled }: BenchUtterance, modality: Modality): ChunkInput {
  const frames = { pixels: utterance.frames, count: utterance.frameCount };
  switch (modality) {
    case 'audio':
      return { pcm: utterance.pcm };
    case 'video':
      return { frames };
    case 'audio-visual':
      return { pcm: utterance.pcm, frames };
    case 'audio, 0 dB babble':
      return { pcm: babbled! };
    case 'audio-visual, 0 dB babble':
      return { pcm: babbled!, frames };
  }
}

/**
 * Forward FLOPs of the LM for a chunk: the prefix, then every position decoded after it (drafts, beams and
 * rescored transcripts included), each attending to the prefix and half the transcript on average.
 */
function lmFlops(bundle: LoadedBundle, prefixTokens: number, decodedPositions: number, generatedTokens: number): number {
  const { dim, vocabSize, layers, ff } = bundle.manifest.lm;
  const perToken = (context: number) => 2 * (layers * (4 * dim * dim + 2 * dim * ff + 2 * dim * context) + dim * vocabSize);
  return prefixTokens * perToken(prefixTokens / 2) + decodedPositions * perToken(prefixTokens + generatedTokens / 2);
}

/** A row's decoding: its label in the tables, and what it asks of the recognizer on top of the bundle's rules. */
interface DecodingRun {
  readonly label: string;
  /** The label at a scale, where the decoding spends differently there (the bundle's per-scale search budgets). */
  readonly labelAt?: (scaleId: string) => string;
  readonly decoding: Decoding;
}

const greedyRun = (label: string, extra: Partial<Extract<Decoding, { kind: 'greedy' }>> = {}): DecodingRun => ({ label, decoding: { kind: 'greedy', ...extra } });

interface ScaleRow {
  scale: string;
  modality: Modality;
  decoding: string;
  wer: number;
  rtf: number;
  lmTokensPerSecond: number;
  /** Positions the LM computed after the media prefix (transcripts, drafts, beams, rescored N best) per second of media. */
  lmTranscriptPositionsPerSecond: number;
  latencyP50: number;
  latencyP95: number;
  lmShareOfTime: number;
  /** CTC prefix scoring and word-LM scoring, not part of the LM's time. */
  ctcShareOfTime: number;
  lmGflopsPerSecond: number;
}

async function measureVadSeconds(pcm: Float32Array): Promise<number> {
  const vad = await VoiceActivityDetector.create(ort);
  const started = performance.now();
  for (let offset = 0; offset + vadFrameSamples <= pcm.length; offset += vadFrameSamples) await vad.score(pcm.subarray(offset, offset + vadFrameSamples));
  const seconds = (performance.now() - started) / 1000;
  await vad.release();
  return seconds;
}

/** Runs `work` `count` times; the fastest run's result and wall time. */
async function fastestOf<T>(count: number, work: () => Promise<T>): Promise<{ value: T; milliseconds: number }> {
  let best: { value: T; milliseconds: number } | undefined;
  for (let pass = 0; pass < count; pass += 1) {
    const started = performance.now();
    const value = await work();
    const milliseconds = performance.now() - started;
    if (best === undefined || milliseconds < best.milliseconds) best = { value, milliseconds };
  }
  return best!;
}

/**
 * Every scale × modality with the bundle's decoding (its default search wherever there is audio and
 * the bundle has a CTC head; with its word LM, when it has one); with `lmAloneToo`, audio-only again
 * with the other searches (rescoring without the word LM, joint greedy with and without drafting ahead
 * and the word LM, the LM alone, beam search), to show what each part buys and costs, and audio-only and
 * audio-visual again under 0 dB babble.
 */
async function benchScales(bundle: LoadedBundle, speech: readonly Utterance[], vadSecondsPerMediaSecond: number, lmAloneToo: boolean): Promise<ScaleRow[]> {
  const recognizer = new Recognizer(ort, bundle);
  const modalities = lmAloneToo ? [...cleanModalities, ...babbleModalities] : cleanModalities;
  const utterances: BenchUtterance[] = speech.map((utterance, index) => ({
    utterance,
    ...(lmAloneToo ? { babbled: withBabble(utterance.pcm, [1, 2, 3].map((offset) => speech[(index + offset) % speech.length]!.pcm), 0) } : {}),
  }));
  const mediaSeconds = speech.reduce((sum, utterance) => sum + utterance.pcm.length / 16000, 0);
  const joint = (bundle.manifest.decoding.ctc?.weight ?? 0) > 0;
  const words = bundle.wordLm !== undefined && (bundle.manifest.decoding.wordLm?.weight ?? 0) > 0;
  const search = bundle.manifest.decoding.defaultSearch;
  // the speed vote's extra searches are part of the bundle's decoding, and of its time
  const vote = search.speedVote;
  const votesAt = (scaleId: string) => vote !== undefined && (vote.scales?.includes(scaleId) ?? true);
  // the lip reader joins the search of an unsure audio-visual chunk: part of the bundle's decoding there
  const fusion = search.videoFusion;
  const rescoringLabel = (beams: number, searchBeams: number | undefined, withWords: boolean, voted: boolean, fused: boolean) =>
    `CTC beam ${searchBeams ?? beams}${withWords ? ' + word LM' : ''}, ${searchBeams === undefined ? '' : `${beams} `}rescored` +
    `${voted ? `, voted at ${vote!.speeds.join('/')}` : ''}${fused ? `, lip reader where unsure (< ${fusion!.belowConfidence})` : ''}`;
  // a chunk without audio has nothing to play at other speeds: the recognizer votes only where there is audio
  const rescoring = (beams: number, searchBeams: number | undefined, withWords: boolean, modality: Modality = 'audio'): DecodingRun => {
    const scaleSearch = search.scaleSearch;
    const withAudio = modality !== 'video';
    const fused = fusion !== undefined && modality.startsWith('audio-visual');
    return {
      label: rescoringLabel(beams, searchBeams, withWords, withAudio && vote !== undefined, fused),
      labelAt: (scaleId) => {
        const budget = scaleSearch?.get(scaleId);
        return rescoringLabel(budget?.beams ?? beams, budget ? budget.searchBeams : searchBeams, withWords, withAudio && votesAt(scaleId), fused);
      },
      decoding: {
        kind: 'rescore',
        beams,
        ...(searchBeams === undefined ? {} : { searchBeams }),
        ...(scaleSearch ? { scaleSearch } : {}),
        ...(vote ? { speedVote: vote } : {}),
        ...(fusion ? { videoFusion: fusion } : {}),
        ...(withWords ? {} : { wordWeight: 0 }),
      },
    };
  };
  const jointGreedy = greedyRun(words ? 'joint CTC + LM + word LM' : 'joint CTC + LM');
  // video-only chunks search the video phone head where the bundle has one, else the LM reads them greedily
  const videoSearch = bundle.manifest.decoding.phones?.videoOutput !== undefined && search.method === 'rescore';
  const bundleDecoding = (modality: Modality): DecodingRun => {
    if (modality === 'video' && videoSearch) return rescoring(search.beams, search.searchBeams, words, modality);
    if (!joint || modality === 'video') return greedyRun(words ? 'LM + word LM' : 'LM alone');
    if (search.method === 'rescore') return rescoring(search.beams, search.searchBeams, words, modality);
    if (search.method === 'beam') return { label: `beam ${search.beams}`, decoding: { kind: 'beam', beams: search.beams } };
    return jointGreedy;
  };
  const runs: { modality: Modality; run: DecodingRun }[] = modalities.map((modality) => ({ modality, run: bundleDecoding(modality) }));
  if (joint && lmAloneToo) {
    const others = [
      ...(search.method === 'rescore' && words ? [rescoring(search.beams, search.searchBeams, false)] : []),
      ...(search.method === 'greedy' ? [] : [jointGreedy]),
      greedyRun('joint, step by step', { stepByStep: true }),
      ...(words ? [greedyRun('joint, no word LM', { wordWeight: 0 })] : []),
      greedyRun('LM alone', { ctcWeight: 0, wordWeight: 0 }),
      { label: 'beam 8', decoding: { kind: 'beam', beams: 8 } } satisfies DecodingRun,
    ];
    runs.push(...others.map((run) => ({ modality: 'audio' as const, run })));
  }
  // Every session's first run allocates and plans; run each decoding once per modality untimed, so
  // the first row timed (the finest scale) is not charged for it.
  for (const { modality, run } of runs) await recognizer.recognize(chunkFor(utterances[0]!, modality), { scaleIndex: 0, decoding: run.decoding });
  const rows: ScaleRow[] = [];
  for (const [scaleIndex, scale] of bundle.manifest.scales.entries()) {
    for (const { modality, run } of runs) {
      const latencies: number[] = [];
      const pairs: { reference: string; hypothesis: string }[] = [];
      let prefixTokens = 0;
      let decodedPositions = 0;
      let lmSeconds = 0;
      let ctcSeconds = 0;
      let flops = 0;
      for (const utterance of utterances) {
        const fastest = await fastestOf(passes, () => recognizer.recognize(chunkFor(utterance, modality), { scaleIndex, decoding: run.decoding }));
        const result = fastest.value;
        latencies.push(fastest.milliseconds);
        pairs.push({ reference: utterance.utterance.transcript, hypothesis: result.text });
        prefixTokens += result.prefixTokens;
        decodedPositions += result.decodedPositions;
        const scoringMs = result.timings.ctcMs + result.timings.wordLmMs;
        lmSeconds += (result.timings.prefillMs + result.timings.decodeMs - scoringMs) / 1000;
        ctcSeconds += scoringMs / 1000;
        flops += lmFlops(bundle, result.prefixTokens, result.decodedPositions, result.generatedTokens);
      }
      const busy = latencies.reduce((sum, value) => sum + value, 0) / 1000 + (modality === 'video' ? 0 : vadSecondsPerMediaSecond * mediaSeconds);
      const sorted = [...latencies].sort((a, b) => a - b);
      rows.push({
        scale: scale.id,
        modality,
        decoding: run.labelAt?.(scale.id) ?? run.label,
        wer: wordErrorRate(pairs).rate,
        rtf: busy / mediaSeconds,
        lmTokensPerSecond: prefixTokens / mediaSeconds,
        lmTranscriptPositionsPerSecond: decodedPositions / mediaSeconds,
        latencyP50: percentile(sorted, 0.5),
        latencyP95: percentile(sorted, 0.95),
        lmShareOfTime: lmSeconds / busy,
        ctcShareOfTime: ctcSeconds / busy,
        lmGflopsPerSecond: flops / lmSeconds / 1e9,
      });
    }
  }
  return rows;
}

/**
 * "at commit …", and whether the working tree differed from it: a bundle is usually measured before it
 * is committed, and its figures must not read as the previous commit's.
 */
function measuredAt(): string {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: projectRoot, encoding: 'utf8' }).trim();
  // BENCHMARKS.md is what this run rewrites (the live section first), so it never counts as a change.
  const changed = git('status', '--porcelain', '--untracked-files=no', '--', '.', ':(exclude)BENCHMARKS.md');
  const files = changed.length > 0 ? changed.split('\n').length : 0;
  return `at commit \`${git('rev-parse', '--short', 'HEAD')}\`${files > 0 ? ` plus uncommitted changes to ${files} tracked files` : ''}`;
}

function writeWav(path: string, pcm: Float32Array): void {
  const data = Buffer.alloc(pcm.length * 2);
  pcm.forEach((sample, index) => data.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(sample * 32767))), index * 2));
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(16000, 24);
  header.writeUInt32LE(32000, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  writeFileSync(path, Buffer.concat([header, data]));
}

function runPocketSphinx(wav: string): { text: string; seconds: number } {
  const started = performance.now();
  const output = execFileSync('pocketsphinx_continuous', ['-infile', wav, '-logfn', '/dev/null'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { text: output.split('\n').join(' '), seconds: (performance.now() - started) / 1000 };
}

/**
 * PocketSphinx on each utterance as its own file: the condition of the per-utterance rows. On the whole
 * file it reads far better than per utterance (it adapts across utterances; most likely its cepstral
 * mean), so the two conditions are reported side by side and the comparison stays like for like.
 */
function runPocketSphinxPerUtterance(utterances: readonly Utterance[]): number {
  const pairs = utterances.map((utterance, index) => {
    const wav = join(outputDirectory, `heldout-utterance-${index}.wav`);
    writeWav(wav, utterance.pcm);
    return { reference: utterance.transcript, hypothesis: runPocketSphinx(wav).text };
  });
  return wordErrorRate(pairs).rate;
}

interface PipelineResult {
  text: string;
  segments: number;
  mediaSeconds: number;
  processingSeconds: number;
  peakRssBytes: number;
}

function runPipelineChild(wav: string, scale: string): PipelineResult {
  const child = spawnSync(process.execPath, ['--import', 'tsx', join(projectRoot, 'test', 'bench', 'pipeline-child.ts'), '--media', wav, '--model', values.model, '--scale', scale, '--threads', String(threads)], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (child.status !== 0) throw new Error(`pipeline child failed: ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as PipelineResult;
}

/**
 * Each whole-file system `passes` times, the systems taking turns so that they share the machine's
 * slow and fast spells, and each one's fastest pass kept (with the largest peak RSS of its passes):
 * the same rule as the per-chunk rows, since one pass of a shared machine decides a speed ratio.
 */
function fastestWholeFileRuns(wav: string, scales: readonly string[]) {
  const pipelinePasses = scales.map((): PipelineResult[] => []);
  const sphinxPasses: { text: string; seconds: number }[] = [];
  for (let pass = 0; pass < passes; pass += 1) {
    scales.forEach((scale, index) => pipelinePasses[index]!.push(runPipelineChild(wav, scale)));
    sphinxPasses.push(runPocketSphinx(wav));
  }
  const fastest = <T>(runs: readonly T[], seconds: (run: T) => number) => runs.reduce((best, run) => (seconds(run) < seconds(best) ? run : best));
  const pipelines = scales.map((scale, index) => {
    const runs = pipelinePasses[index]!;
    return { scale, result: { ...fastest(runs, (run) => run.processingSeconds), peakRssBytes: Math.max(...runs.map((run) => run.peakRssBytes)) } };
  });
  return { pipelines, sphinx: fastest(sphinxPasses, (run) => run.seconds) };
}

function machineDescription(): string {
  const model = cpus()[0]?.model ?? 'unknown CPU';
  return `${model}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${process.platform} ${process.arch}, Node ${process.versions.node}, onnxruntime-node ${ort.env.versions.node ?? '?'}`;
}

const fmt = (value: number, digits = 3) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const pct = (value: number) => `${(value * 100).toFixed(1)}%`;

/** Backlog and caption latency over time for both runs, as a table and a Mermaid chart. */
function policyReport(runs: readonly PolicyRun[], hog: { start: number; end: number; cores: number }, bundle: LoadedBundle): string[] {
  const lines: string[] = [];
  lines.push(`#### Live-paced captioning with a CPU hog (${hog.cores} busy processes from ${hog.start} s to ${hog.end} s)`);
  lines.push('');
  lines.push('| run | backlog max (s) | latency p50 / p95 while the hog runs (s) | latency p50 / p95 otherwise (s) | scale changes |');
  lines.push('| --- | --- | --- | --- | --- |');
  for (const run of runs) {
    const during = run.latencies.filter((entry) => entry.hog).map((entry) => entry.latency).sort((a, b) => a - b);
    const outside = run.latencies.filter((entry) => !entry.hog).map((entry) => entry.latency).sort((a, b) => a - b);
    const label = run.mode === 'fixed' ? `fixed ${bundle.manifest.scales[0]!.id}` : `policy (${run.mode})`;
    lines.push(
      `| ${label} | ${fmt(Math.max(0, ...run.points.map((point) => point.backlogSeconds)), 1)} | ${fmt(percentile(during, 0.5), 2)} / ${fmt(percentile(during, 0.95), 2)} | ${fmt(percentile(outside, 0.5), 2)} / ${fmt(percentile(outside, 0.95), 2)} | ${run.decisions.map((decision) => `${fmt(decision.atSeconds, 0)} s → ${bundle.manifest.scales[decision.scaleIndex]!.id}`).join(', ') || 'none'} |`,
    );
  }
  const seconds = Math.floor(Math.min(...runs.map((run) => run.points.at(-1)?.atSeconds ?? 0)));
  const grid = Array.from({ length: Math.floor(seconds / 5) + 1 }, (_, index) => index * 5);
  const backlogAt = (run: PolicyRun, at: number) => run.points.reduce((best, point) => (Math.abs(point.atSeconds - at) < Math.abs(best.atSeconds - at) ? point : best)).backlogSeconds;
  lines.push('');
  lines.push('```mermaid');
  lines.push('xychart-beta');
  lines.push('  title "Live backlog (s) over time (s); the hog runs between the marks"');
  lines.push(`  x-axis [${grid.map((at) => (at === hog.start || at === hog.end ? `"${at}*"` : `"${at}"`)).join(', ')}]`);
  lines.push('  y-axis "backlog (s)"');
  for (const run of runs) lines.push(`  line [${grid.map((at) => fmt(backlogAt(run, at), 2)).join(', ')}]`);
  lines.push('```');
  lines.push('');
  lines.push(`Lines: ${runs.map((run, index) => `${index === 0 ? 'first' : 'second'} = ${run.mode === 'fixed' ? 'fixed finest scale' : 'with the policy'}`).join(', ')}. Decisions and their reasons are in test-output/bench/engine-bench.json.`);
  return lines;
}

/** The issue's targets for this 2-core CPU, each marked met or missed from this run's numbers. */
function targetReport(
  rows: readonly ScaleRow[],
  heldoutFinest: ScaleRow | undefined,
  pipelines: readonly { scale: string; result: PipelineResult }[],
  sphinx: { wer: number; rtf: number; werPerUtterance: number },
  mediaSeconds: number,
  reference: string,
  finest: string,
  coarsest: string,
): string[] {
  // the rows with the bundle's own decoding come first
  const audioRow = (scale: string) => rows.find((row) => row.scale === scale && row.modality === 'audio');
  const finestRow = audioRow(finest);
  const coarsestRow = audioRow(coarsest);
  const lmSeconds = (row: ScaleRow | undefined) => (row === undefined ? NaN : row.rtf * row.lmShareOfTime);
  const peakRss = Math.max(...pipelines.map(({ result }) => result.peakRssBytes)) / 2 ** 20;
  const finestPipeline = pipelines.find(({ scale }) => scale === finest)?.result;
  const pipelineRtf = finestPipeline === undefined ? NaN : finestPipeline.processingSeconds / mediaSeconds;
  const pipelineWer = finestPipeline === undefined ? NaN : wordErrorRate([{ reference, hypothesis: finestPipeline.text }]).rate;
  const verdict = (met: boolean) => (met ? 'met' : '**missed**');
  const targets: [string, string, boolean][] = [
    [`finest scale (${finest}) real-time factor ≤ 0.05`, fmt(finestRow?.rtf ?? NaN, 4), (finestRow?.rtf ?? Infinity) <= 0.05],
    [`coarsest scale (${coarsest}) real-time factor ≤ 0.02`, fmt(coarsestRow?.rtf ?? NaN, 4), (coarsestRow?.rtf ?? Infinity) <= 0.02],
    [
      'coarsest ≥ 2× cheaper than finest in LM time',
      `${fmt(lmSeconds(finestRow) / lmSeconds(coarsestRow), 2)}×`,
      lmSeconds(finestRow) >= 2 * lmSeconds(coarsestRow),
    ],
    ['peak RSS of the whole pipeline ≤ 400 MB', `${fmt(peakRss, 0)} MiB`, peakRss * 2 ** 20 <= 400e6],
    ['≥ 5× faster than PocketSphinx on the same file', `${fmt(sphinx.rtf / pipelineRtf, 1)}×`, sphinx.rtf >= 5 * pipelineRtf],
    ['lower WER than PocketSphinx on held-out speech', `${pct(pipelineWer)} vs ${pct(sphinx.wer)} (held-out family; per utterance: ${pct(heldoutFinest?.wer ?? NaN)} at ${finest} vs ${pct(sphinx.werPerUtterance)})`, pipelineWer < sphinx.wer],
  ];
  return [
    `#### Targets (2-core CPU, audio only, the bundle's decoding: ${finestRow?.decoding ?? 'n/a'}${
      coarsestRow && coarsestRow.decoding !== finestRow?.decoding ? `; at ${coarsest}: ${coarsestRow.decoding}` : ''
    })`,
    '',
    '| target | measured | verdict |',
    '| --- | --- | --- |',
    ...targets.map(([name, measured, met]) => `| ${name} | ${measured} | ${verdict(met)} |`),
  ];
}

/** Replaces one marked section of BENCHMARKS.md (or appends it under `heading`). */
function writeSection(marker: string, heading: string, markdown: string): void {
  const path = join(projectRoot, 'BENCHMARKS.md');
  const start = `<!-- ${marker}:start -->`;
  const end = `<!-- ${marker}:end -->`;
  const current = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
  const section = `${start}\n${markdown}\n${end}`;
  const next = current.includes(start) ? current.replace(new RegExp(`${start}[\\s\\S]*${end}`), section) : `${current.trimEnd()}\n\n## ${heading}\n\n${section}\n`;
  writeFileSync(path, next);
}

/**
 * Phrases per live run. With 12, the p95 latency was the slowest phrase alone, and one slow phrase decided
 * it (at 9091a9b the policy row, which used the finest scale throughout, gave 1,086 ms, and the same scale
 * fixed 604 ms); with 24 it is the second slowest.
 */
const livePhrases = 24;

/** Live captions per scale (audio, and audio-visual at the finest) and with the policy on. */
async function liveSection(bundle: LoadedBundle, heldout: readonly Utterance[]): Promise<string> {
  const timeline = layOutTimeline(heldout.slice(0, livePhrases), 1.0);
  const runs: LiveLatencyRun[] = [];
  for (let scaleIndex = 0; scaleIndex < bundle.manifest.scales.length; scaleIndex += 1) {
    process.stderr.write(`bench: live captions at ${bundle.manifest.scales[scaleIndex]!.id}…\n`);
    runs.push(await runLiveLatency(bundle, timeline, { kind: 'fixed', scaleIndex }, false));
  }
  process.stderr.write('bench: live captions, audio-visual, finest scale…\n');
  runs.push(await runLiveLatency(bundle, timeline, { kind: 'fixed', scaleIndex: 0 }, true));
  process.stderr.write('bench: live captions with the Balanced policy…\n');
  runs.push(await runLiveLatency(bundle, timeline, { kind: 'policy' }, true));
  return [
    `Measured ${new Date().toISOString().slice(0, 10)} ${measuredAt()} on ${machineDescription()}; ${threads} ONNX Runtime threads; bundle \`${bundle.manifest.id}\`.`,
    '',
    ...liveLatencyReport(runs, timeline.durationSeconds),
  ].join('\n');
}

async function main(): Promise<void> {
  const bundle = await loadBundle(ort, values.model, { device: 'cpu', autoCandidates: ['cpu'], intraOpThreads: threads });
  const roi = bundle.manifest.roi.width;
  const corpusDirectory = join(outputDirectory, `corpus-roi${roi}-n${utteranceCount}`);
  process.stderr.write('bench: generating held-out evaluation speech with the corpus generator…\n');
  generateEvaluationCorpus(corpusDirectory, { seed: 4242, seen: utteranceCount, heldout: utteranceCount, roi });
  const seen = readCorpusSplit(corpusDirectory, 'eval_seen', roi);
  const heldout = readCorpusSplit(corpusDirectory, 'eval_heldout', roi);

  if (values.live || values['only-live']) {
    const live = await liveSection(bundle, heldout);
    process.stdout.write(`${live}\n`);
    if (values.write) writeSection('live-bench', 'Live captions', live);
    if (values['only-live']) {
      await bundle.release();
      return;
    }
  }

  const timeline = layOutTimeline(heldout, 1.0);
  const vadSecondsPerMediaSecond = (await measureVadSeconds(timeline.pcm)) / timeline.durationSeconds;
  process.stderr.write('bench: per scale and modality…\n');
  const rows = await benchScales(bundle, seen, vadSecondsPerMediaSecond, true);
  const heldoutRows = await benchScales(bundle, heldout, vadSecondsPerMediaSecond, false);
  const peak = await measureMatmulPeak(ort, threads);

  process.stderr.write('bench: whole pipeline vs PocketSphinx on one long file…\n');
  const wav = join(outputDirectory, 'heldout-timeline.wav');
  writeWav(wav, timeline.pcm);
  const reference = timeline.speech.map((entry) => entry.transcript).join(' ');
  const finest = bundle.manifest.scales[0]!.id;
  const coarsest = bundle.manifest.scales.at(-1)!.id;
  const { pipelines, sphinx } = fastestWholeFileRuns(wav, [finest, coarsest]);
  const sphinxWerPerUtterance = runPocketSphinxPerUtterance(heldout);

  let policyRuns: PolicyRun[] = [];
  const hogWindow = { start: 25, end: Math.round(Math.min(75, timeline.durationSeconds - 20)), cores: 2 * cpus().length };
  if (values.policy) {
    process.stderr.write('bench: live-paced captioning with a CPU hog, with the policy and at a fixed finest scale…\n');
    policyRuns = [await runLivePolicy(bundle, timeline, 'balanced', hogWindow), await runLivePolicy(bundle, timeline, 'fixed', hogWindow)];
  }
  await bundle.release();

  // A long recording (speech, then ten minutes of room silence, repeated) through the whole
  // pipeline: peak RSS must not grow with the input's length.
  const longHours = Number(values['long-hours']);
  let long: PipelineResult | undefined;
  if (longHours > 0) {
    process.stderr.write(`bench: ${longHours} h recording through the pipeline…\n`);
    const block = new Float32Array(600 * 16000);
    block.set(timeline.pcm.subarray(0, Math.min(timeline.pcm.length, block.length)));
    const blockWav = join(outputDirectory, 'long-block.wav');
    writeWav(blockWav, block);
    const longFile = join(outputDirectory, `long-${longHours}h.mp3`);
    if (!existsSync(longFile)) {
      execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-stream_loop', String(Math.ceil((longHours * 3600) / 600) - 1), '-i', blockWav, '-c:a', 'libmp3lame', '-b:a', '32k', longFile]);
    }
    long = runPipelineChild(longFile, finest);
  }

  const lines: string[] = [];
  lines.push(`Measured ${new Date().toISOString().slice(0, 10)} ${measuredAt()} on ${machineDescription()}; ${threads} ONNX Runtime threads; per-chunk rows and the whole-file runs time the fastest of ${passes} passes; bundle \`${bundle.manifest.id}\`.`);
  lines.push('');
  lines.push(`Float32 matmul peak through ONNX Runtime in the same run: ${fmt(peak / 1e9, 1)} GFLOP/s.`);
  lines.push('');
  for (const [title, table] of [
    [`Seen TTS voices (${seen.length} utterances, ${fmt(seen.reduce((s, u) => s + u.pcm.length, 0) / 16000, 0)} s), segmented at the utterance boundaries`, rows],
    [`Held-out TTS family (${heldout.length} utterances)`, heldoutRows],
  ] as const) {
    lines.push(`#### ${title}`);
    lines.push('');
    lines.push('| scale | modality | decoding | WER | real-time factor | LM tokens / s of media | LM positions after the prefix / s | chunk latency p50 / p95 (ms) | LM share of time | CTC + word-LM scoring share | LM GFLOP/s (share of peak) |');
    lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const row of table) {
      lines.push(
        `| ${row.scale} | ${row.modality} | ${row.decoding} | ${pct(row.wer)} | ${fmt(row.rtf, 4)} | ${fmt(row.lmTokensPerSecond, 1)} | ${fmt(row.lmTranscriptPositionsPerSecond, 1)} | ${fmt(row.latencyP50, 0)} / ${fmt(row.latencyP95, 0)} | ${pct(row.lmShareOfTime)} | ${pct(row.ctcShareOfTime)} | ${fmt(row.lmGflopsPerSecond, 2)} (${pct((row.lmGflopsPerSecond * 1e9) / peak)}) |`,
      );
    }
    lines.push('');
  }
  lines.push(`#### Whole pipeline on one ${fmt(timeline.durationSeconds, 0)} s file of held-out speech (ffmpeg decode → VAD → recognizer, audio only), against PocketSphinx`);
  lines.push('');
  lines.push('| system | WER | real-time factor | peak RSS |');
  lines.push('| --- | --- | --- | --- |');
  for (const { scale, result } of pipelines) {
    const wer = wordErrorRate([{ reference, hypothesis: result.text }]).rate;
    lines.push(`| Nestcap ${scale} | ${pct(wer)} | ${fmt(result.processingSeconds / timeline.durationSeconds, 4)} | ${fmt(result.peakRssBytes / 2 ** 20, 0)} MiB |`);
  }
  const sphinxWer = wordErrorRate([{ reference, hypothesis: sphinx.text }]).rate;
  lines.push(`| PocketSphinx (Debian pocketsphinx_continuous, en-us) | ${pct(sphinxWer)} | ${fmt(sphinx.seconds / timeline.durationSeconds, 4)} | n/a |`);
  const heldoutFinest = heldoutRows.find((row) => row.scale === finest && row.modality === 'audio');
  lines.push('');
  lines.push(
    `The same ${heldout.length} utterances each as its own file (the held-out table's condition): PocketSphinx ${pct(sphinxWerPerUtterance)}, ` +
      `Nestcap ${finest} audio only ${pct(heldoutFinest?.wer ?? NaN)}.`,
  );
  if (long) {
    lines.push('');
    lines.push(
      `A ${fmt(long.mediaSeconds / 3600, 1)} h MP3 (held-out speech, then room silence, every ten minutes) through the same pipeline at ${finest}: ` +
        `${long.segments} segments, real-time factor ${fmt(long.processingSeconds / long.mediaSeconds, 4)}, peak RSS ${fmt(long.peakRssBytes / 2 ** 20, 0)} MiB.`,
    );
  }
  if (policyRuns.length > 0) lines.push('', ...policyReport(policyRuns, hogWindow, bundle));
  lines.push('', ...targetReport(rows, heldoutFinest, pipelines, { wer: sphinxWer, rtf: sphinx.seconds / timeline.durationSeconds, werPerUtterance: sphinxWerPerUtterance }, timeline.durationSeconds, reference, finest, coarsest));
  const markdown = lines.join('\n');
  process.stdout.write(`${markdown}\n`);
  writeFileSync(join(outputDirectory, 'engine-bench.md'), `${markdown}\n`);
  writeFileSync(join(outputDirectory, 'engine-bench.json'), JSON.stringify({ rows, heldoutRows, peak, pipelines, long, policyRuns, sphinx: { ...sphinx, wer: sphinxWer, werPerUtterance: sphinxWerPerUtterance } }, null, 2));

  if (values.write) writeSection('engine-bench', 'Caption engine', markdown);
}

await main();
