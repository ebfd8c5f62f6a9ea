import * as ort from 'onnxruntime-node';
import { availableParallelism } from 'node:os';
import { BundleError, loadBundle, type DevicePreference, type LoadedBundle } from '../engine/bundle.js';
import { CaptionEngine, fixedScale, type CaptionSegment, type ScaleChooser } from '../engine/caption-engine.js';
import { captionFile } from '../engine/caption-file.js';
import { candidateProviders } from '../engine/execution-providers.js';
import type { BundleManifest, SearchMethod } from '../engine/bundle-manifest.js';
import { Recognizer, type Decoding } from '../engine/recognizer.js';
import { VoiceActivityDetector } from '../engine/voice-activity.js';
import { renderCaptions, type CaptionFormat } from '../export/formats.js';
import { captionPathFor, OutputExistsError, OutputWriteError, writeFileAtomically } from '../export/write-file.js';
import { bundledFfmpegPath, FfmpegNotFoundError, locateFfmpeg, locateFfprobe } from '../media/ffmpeg-locator.js';
import { MediaError } from '../media/media-error.js';
import { FaceLandmarker } from '../media/mouth-roi.js';
import { ExitCode } from './exit-codes.js';
import { ProgressReporter } from './progress.js';

/**
 * `nestcap caption`: files and folders to caption files, with the same services the app uses.
 * Each file succeeds or fails on its own; the exit code says whether all of them succeeded.
 */

export interface CaptionCommand {
  readonly files: readonly string[];
  readonly outputDirectory: string | undefined;
  readonly formats: readonly CaptionFormat[];
  readonly bundleDirectory: string;
  readonly scale: string;
  readonly device: DevicePreference;
  readonly jobs: number;
  readonly video: 'auto' | 'on' | 'off';
  /** 'auto': the bundle's default decoding. */
  readonly decoding: SearchMethod | 'auto';
  /** Undefined: the bundle's count (or 8 where the bundle decodes greedily). */
  readonly beams: number | undefined;
  /** Of the CTC search under rescore; undefined: the bundle's (or `beams`). */
  readonly searchBeams: number | undefined;
  /** Under rescore, vote with the chunk searched at the bundle's other playback speeds where its manifest has them. */
  readonly speedVote: boolean;
  /** Undefined: the bundle's weight. */
  readonly ctcWeight: number | undefined;
  /** Undefined: the bundle's weight. */
  readonly wordWeight: number | undefined;
  readonly overwrite: boolean;
}

export interface CommandOutput {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

function chooser(bundle: LoadedBundle, scale: string): ScaleChooser | string {
  if (scale === 'auto') {
    // Offline captioning has no deadline: Best quality, the finest scale. Live captioning and
    // the resource monitor lower it when they must.
    return () => ({ scaleIndex: 0, reason: 'best quality: offline captioning has no real-time deadline' });
  }
  const index = bundle.manifest.scales.findIndex((entry) => entry.id === scale);
  if (index < 0) return `unknown scale "${scale}"; this bundle has ${bundle.manifest.scales.map((entry) => entry.id).join(', ')} (finest first) or auto`;
  return fixedScale(index);
}

export async function runCaptionCommand(command: CaptionCommand, output: CommandOutput): Promise<ExitCode> {
  const say = (text: string) => output.stderr.write(`${text}\n`);
  let ffmpeg;
  try {
    ffmpeg = locateFfmpeg({ env: process.env, platform: process.platform, bundledPath: bundledFfmpegPath() });
  } catch (error) {
    if (!(error instanceof FfmpegNotFoundError)) throw error;
    say(`nestcap: ${error.message}`);
    return ExitCode.mediaToolMissing;
  }

  let bundle: LoadedBundle;
  try {
    bundle = await loadBundle(ort, command.bundleDirectory, {
      device: command.device,
      autoCandidates: candidateProviders(process.platform),
      intraOpThreads: Math.max(1, Math.min(4, Math.floor(availableParallelism() / command.jobs))),
    });
  } catch (error) {
    if (!(error instanceof BundleError)) throw error;
    say(`nestcap: cannot caption: ${error.message}`);
    return ExitCode.modelUnavailable;
  }
  try {
    const chooseScale = chooser(bundle, command.scale);
    if (typeof chooseScale === 'string') {
      say(`nestcap: ${chooseScale}`);
      return ExitCode.usage;
    }
    const fallbackNote = bundle.provider.fallbacks.map((fallback) => `${fallback.provider} not used: ${fallback.reason}`).join('; ');
    say(`nestcap: model ${bundle.manifest.id} on ${bundle.provider.used}${fallbackNote ? ` (${fallbackNote})` : ''}`);

    let landmarker: FaceLandmarker | undefined;
    if (command.video !== 'off') {
      try {
        landmarker = await FaceLandmarker.load();
      } catch (error) {
        if (command.video === 'on') {
          say(`nestcap: lip reading was asked for, but the face model could not load: ${String(error)}`);
          return ExitCode.lipReadingUnavailable;
        }
        say(`nestcap: continuing audio-only; the face model could not load: ${String(error)}`);
      }
    }

    const recognizer = new Recognizer(ort, bundle);
    const ffprobePath = locateFfprobe(ffmpeg, process.env, process.platform) ?? null;
    const progress = new ProgressReporter(output.stderr);
    const processed = new Map<string, { done: number; total: number }>();
    const totals = () => [...processed.values()].reduce((sum, entry) => ({ done: sum.done + entry.done, total: sum.total + entry.total }), { done: 0, total: 0 });
    let finishedFiles = 0;
    const failures: string[] = [];

    const captionOne = async (path: string) => {
      const vad = await VoiceActivityDetector.create(ort);
      const engine = new CaptionEngine(recognizer, vad);
      const segments: CaptionSegment[] = [];
      try {
        const result = await captionFile(
          { ffmpeg, ffprobePath, engine, roiSize: bundle.manifest.roi.width, ...(landmarker ? { landmarker } : {}) },
          path,
          {
            chooseScale,
            decoding: {
              ...chosenDecoding(bundle.manifest, command),
              ...(command.ctcWeight === undefined ? {} : { ctcWeight: command.ctcWeight }),
              ...(command.wordWeight === undefined ? {} : { wordWeight: command.wordWeight }),
            },
            useVideo: landmarker !== undefined,
            onProgress: (done, total) => {
              processed.set(path, { done, total: total ?? done });
              const sum = totals();
              progress.update({ label: `${finishedFiles}/${command.files.length} files`, done: sum.done, total: Math.max(sum.total, sum.done) });
            },
          },
          (segment) => {
            segments.push(segment);
          },
        );
        const metadata = {
          media: path,
          durationSeconds: result.info.durationSeconds,
          model: bundle.manifest.id,
          device: bundle.provider.used,
          createdBy: 'nestcap caption',
        };
        for (const format of command.formats) {
          const target = captionPathFor(path, format, command.outputDirectory);
          await writeFileAtomically(target, renderCaptions(format, segments, metadata), command.overwrite);
          output.stdout.write(`${target}\n`);
        }
      } catch (error) {
        if (error instanceof MediaError || error instanceof OutputExistsError || error instanceof OutputWriteError) {
          const hint = error instanceof OutputExistsError ? ' (pass --overwrite to replace it)' : '';
          failures.push(`${path}: ${error.message}${hint}`);
        } else {
          failures.push(`${path}: unexpected failure: ${error instanceof Error ? error.message : String(error)}`);
        }
      } finally {
        finishedFiles += 1;
        await vad.release();
      }
    };

    const queue = [...command.files];
    await Promise.all(
      Array.from({ length: Math.min(command.jobs, queue.length) }, async () => {
        for (let next = queue.shift(); next !== undefined; next = queue.shift()) await captionOne(next);
      }),
    );
    progress.finish(`Captioned ${command.files.length - failures.length} of ${command.files.length} files.`);
    for (const failure of failures) say(`nestcap: ${failure}`);
    return failures.length === 0 ? ExitCode.success : ExitCode.someInputsFailed;
  } finally {
    await bundle.release();
  }
}

/** The search the command asked for: the bundle's default unless it named one, with its beams (per scale) unless it gave a count. */
export function chosenDecoding(manifest: BundleManifest, command: Pick<CaptionCommand, 'decoding' | 'beams' | 'searchBeams' | 'speedVote'>): Decoding {
  const fallback = manifest.decoding.defaultSearch;
  const method = command.decoding === 'auto' ? fallback.method : command.decoding;
  if (method === 'greedy') return { kind: 'greedy' };
  const beams = command.beams ?? (fallback.method === 'greedy' ? 8 : fallback.beams);
  if (method === 'beam') return { kind: 'beam', beams };
  // the bundle's search width, unless the LM is to rescore more than it finds
  const searchBeams = command.searchBeams ?? (fallback.searchBeams !== undefined && fallback.searchBeams >= beams ? fallback.searchBeams : undefined);
  // widths the command gives apply at every scale; the bundle's own keep its coarser scales' smaller budgets
  const scaleSearch = command.beams === undefined && command.searchBeams === undefined ? fallback.scaleSearch : undefined;
  const speedVote = command.speedVote ? fallback.speedVote : undefined;
  // the fusion depends on no width: it applies whatever the command's beams
  const { videoFusion } = fallback;
  return {
    kind: 'rescore',
    beams,
    ...(searchBeams === undefined ? {} : { searchBeams }),
    ...(scaleSearch ? { scaleSearch } : {}),
    ...(speedVote ? { speedVote } : {}),
    ...(videoFusion ? { videoFusion } : {}),
  };
}
