import { accessSync, constants, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { findProjectRoot } from '../app/project-root.js';
import { builtInBundleId } from '../engine/bundle-location.js';
import type { DevicePreference } from '../engine/bundle.js';
import { searchMethods, type SearchMethod } from '../engine/bundle-manifest.js';
import type { CaptionFormat } from '../export/formats.js';
import { runCaptionCommand, type CaptionCommand } from './caption-command.js';
import { ExitCode } from './exit-codes.js';
import { expandInputs } from './media-files.js';

const usage = `Usage: nestcap caption <file-or-folder>... [options]

Options:
  --out <dir>        write captions into this folder (default: next to each media file)
  --format <list>    comma-separated: srt,vtt,txt,json (default: srt)
  --model <dir>      model bundle folder (default: the built-in ${builtInBundleId})
  --scale <name>     auto, or a scale name from the bundle's manifest (default: auto)
  --device <name>    auto, cpu, cuda, dml or coreml (default: auto)
  --jobs <n>         files captioned in parallel (default: 1)
  --video <mode>     lip reading from the video track: auto, on or off (default: auto)
  --decoding <m>     auto (the bundle's: CTC beam search + word LM, rescored by the LM), rescore,
                     greedy or beam (the LM's own searches, slower) (default: auto)
  --beams <n>        transcripts the LM rescores (rescore), or beams of beam, 1 to 16
                     (default: the bundle's, 8)
  --search-beams <n> beams of the CTC search that rescore rescores, from --beams to 256
                     (default: the bundle's, fewer at its coarser scales; --beams or
                     --search-beams apply at every scale)
  --no-speed-vote    skip the bundle's speed vote (the chunk searched again played a little
                     faster and slower, its words voted): faster, less accurate on voices
                     the model never heard
  --ctc-weight <w>   weight of the audio CTC head in joint decoding, from 0 (the LM alone)
                     to below 1 (default: the bundle's, tuned by its evaluation)
  --word-weight <w>  weight of the bundle's word LM, from 0 (off) up (default: the
                     bundle's, tuned by its evaluation)
  --overwrite        replace caption files that already exist
  -h, --help         show this help
`;

const knownFormats = new Set(['srt', 'vtt', 'txt', 'json']);
const knownDevices = new Set(['auto', 'cpu', 'cuda', 'dml', 'coreml']);
const knownDecodings = new Set<string>(['auto', ...searchMethods]);

class UsageError extends Error {}

/** The command as typed: `inputs` are files or folders, expanded to the command's `files` once checked. */
type CaptionOptions = Omit<CaptionCommand, 'files'> & { readonly inputs: readonly string[] };

function parseCaptionArguments(args: string[], projectRoot: string): CaptionOptions | 'help' {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      format: { type: 'string', default: 'srt' },
      model: { type: 'string' },
      scale: { type: 'string', default: 'auto' },
      device: { type: 'string', default: 'auto' },
      jobs: { type: 'string', default: '1' },
      video: { type: 'string', default: 'auto' },
      decoding: { type: 'string', default: 'auto' },
      beams: { type: 'string' },
      'search-beams': { type: 'string' },
      'no-speed-vote': { type: 'boolean', default: false },
      'ctc-weight': { type: 'string' },
      'word-weight': { type: 'string' },
      overwrite: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  if (positionals.length === 0) throw new UsageError('name at least one media file or folder to caption');
  const formats = values.format.split(',').map((format) => format.trim().toLowerCase());
  const unknownFormat = formats.find((format) => !knownFormats.has(format));
  if (unknownFormat !== undefined) throw new UsageError(`unknown format "${unknownFormat}" (use srt, vtt, txt, json)`);
  if (!knownDevices.has(values.device)) throw new UsageError(`unknown device "${values.device}"`);
  const jobs = Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) throw new UsageError('--jobs must be an integer from 1 to 64');
  if (!knownDecodings.has(values.decoding)) throw new UsageError(`--decoding must be auto, ${searchMethods.join(', ')}, got "${values.decoding}"`);
  const beams = values.beams === undefined ? undefined : Number(values.beams);
  if (beams !== undefined && !(Number.isInteger(beams) && beams >= 1 && beams <= 16)) throw new UsageError('--beams must be an integer from 1 to 16');
  if (beams !== undefined && values.decoding === 'greedy') throw new UsageError('--beams does not apply to --decoding greedy');
  const searchBeams = values['search-beams'] === undefined ? undefined : Number(values['search-beams']);
  if (searchBeams !== undefined && !(Number.isInteger(searchBeams) && searchBeams >= (beams ?? 1) && searchBeams <= 256)) {
    throw new UsageError(`--search-beams must be an integer from ${beams ?? 1} (--beams) to 256`);
  }
  if (searchBeams !== undefined && values.decoding !== 'auto' && values.decoding !== 'rescore') throw new UsageError('--search-beams applies to --decoding rescore only');
  if (values['no-speed-vote'] && values.decoding !== 'auto' && values.decoding !== 'rescore') throw new UsageError('--no-speed-vote applies to --decoding rescore only');
  const ctcWeight = values['ctc-weight'] === undefined ? undefined : Number(values['ctc-weight']);
  if (ctcWeight !== undefined && !(ctcWeight >= 0 && ctcWeight < 1)) throw new UsageError('--ctc-weight must be a number from 0 to below 1');
  const wordWeight = values['word-weight'] === undefined ? undefined : Number(values['word-weight']);
  if (wordWeight !== undefined && !(wordWeight >= 0 && Number.isFinite(wordWeight))) throw new UsageError('--word-weight must be a number of at least 0');
  const video = values.video;
  if (video !== 'auto' && video !== 'on' && video !== 'off') throw new UsageError(`--video must be auto, on or off, got "${video}"`);
  return {
    inputs: positionals.map((input) => resolve(input)),
    outputDirectory: values.out === undefined ? undefined : resolve(values.out),
    formats: formats as CaptionFormat[],
    bundleDirectory: values.model === undefined ? join(projectRoot, 'native-models', builtInBundleId) : resolve(values.model),
    scale: values.scale,
    device: values.device as DevicePreference,
    jobs,
    video,
    decoding: values.decoding as SearchMethod | 'auto',
    beams,
    searchBeams,
    speedVote: !values['no-speed-vote'],
    ctcWeight,
    wordWeight,
    overwrite: values.overwrite,
  };
}

function checkInputsReadable(inputs: readonly string[]): string[] {
  const problems: string[] = [];
  for (const input of inputs) {
    try {
      statSync(input);
      accessSync(input, constants.R_OK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      problems.push(code === 'ENOENT' ? `${input}: no such file or folder` : `${input}: cannot be read (${code ?? 'error'})`);
    }
  }
  return problems;
}

function checkOutputWritable(outputDirectory: string | undefined): string | undefined {
  if (outputDirectory === undefined) return undefined;
  try {
    if (!statSync(outputDirectory).isDirectory()) return `${outputDirectory} is not a folder`;
    accessSync(outputDirectory, constants.W_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? `output folder ${outputDirectory} does not exist` : `cannot write to ${outputDirectory} (${code ?? 'error'})`;
  }
}

async function runCaption(args: string[]): Promise<ExitCode> {
  let options: CaptionOptions | 'help';
  try {
    options = parseCaptionArguments(args, findProjectRoot(import.meta.url));
  } catch (error) {
    process.stderr.write(`nestcap: ${error instanceof Error ? error.message : String(error)}\n\n${usage}`);
    return ExitCode.usage;
  }
  if (options === 'help') {
    process.stdout.write(usage);
    return ExitCode.success;
  }
  const { inputs, ...command } = options;
  const inputProblems = checkInputsReadable(inputs);
  if (inputProblems.length > 0) {
    for (const problem of inputProblems) process.stderr.write(`nestcap: ${problem}\n`);
    return ExitCode.inputUnreadable;
  }
  const outputProblem = checkOutputWritable(command.outputDirectory);
  if (outputProblem !== undefined) {
    process.stderr.write(`nestcap: ${outputProblem}\n`);
    return ExitCode.outputUnwritable;
  }
  const files = await expandInputs(inputs);
  if (files.length === 0) {
    process.stderr.write('nestcap: the folders given hold no media files\n');
    return ExitCode.inputUnreadable;
  }
  return runCaptionCommand({ ...command, files }, { stdout: process.stdout, stderr: process.stderr });
}

async function main(argv: string[]): Promise<ExitCode> {
  const [command, ...rest] = argv;
  if (command === 'caption') return runCaption(rest);
  if (command === undefined || command === '--help' || command === '-h') {
    process.stdout.write(usage);
    return command === undefined ? ExitCode.usage : ExitCode.success;
  }
  process.stderr.write(`nestcap: unknown command "${command}"\n\n${usage}`);
  return ExitCode.usage;
}

process.exitCode = await main(process.argv.slice(2));
