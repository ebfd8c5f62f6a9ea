/**
 * The one IPC contract between the UI and the main-side services.
 *
 * Shared by the Electron preload, the renderer and the loopback browser host, so
 * every host speaks exactly the same channels with the same payload types. This
 * module must stay free of Node and DOM imports: it is bundled into the sandboxed
 * preload and into the renderer.
 */

export type ErrorCode =
  | 'invalid-request'
  | 'unknown-channel'
  | 'unauthorized'
  | 'unavailable'
  | 'not-found'
  | 'internal';

/** Errors cross the contract as values, never as thrown strings. */
export interface NestcapError {
  readonly code: ErrorCode;
  readonly message: string;
  /** Dotted path to the offending field for `invalid-request`. */
  readonly field?: string;
}

export type Result<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: NestcapError };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T = never>(code: ErrorCode, message: string, field?: string): Result<T> {
  return { ok: false, error: field === undefined ? { code, message } : { code, message, field } };
}

export type ExecutionProviderName = 'cuda' | 'dml' | 'coreml' | 'webgpu' | 'cpu';

export interface ExecutionProviderProbe {
  readonly name: ExecutionProviderName;
  /** True when a session actually initialised and ran on this provider. */
  readonly usable: boolean;
  /** Why the provider is not usable, as reported by ONNX Runtime or the platform. */
  readonly reason?: string;
}

export type ComponentStatus<T> =
  | ({ readonly available: true } & T)
  | { readonly available: false; readonly reason: string };

export interface SystemStatus {
  readonly app: { readonly name: string; readonly version: string };
  readonly host: 'electron' | 'browser';
  readonly platform: { readonly os: string; readonly arch: string; readonly node: string };
  readonly onnxRuntime: ComponentStatus<{
    readonly version: string;
    readonly executionProviders: readonly ExecutionProviderProbe[];
  }>;
  readonly sqlite: ComponentStatus<{ readonly version: string; readonly databasePath: string }>;
  readonly ffmpeg: ComponentStatus<{
    readonly version: string;
    readonly path: string;
    readonly source: FfmpegSource;
  }>;
}

export type FfmpegSource = 'FFMPEG_PATH' | 'ffmpeg-static' | 'PATH';

export interface Heartbeat {
  readonly uptimeSeconds: number;
  readonly residentSetBytes: number;
  readonly sentAt: string;
}

export type PolicyMode = 'best' | 'balanced' | 'saver' | 'fixed';
export const policyModes: readonly PolicyMode[] = ['best', 'balanced', 'saver', 'fixed'];

/** One reading of the resources the scale policy watches; undefined means the platform does not say. */
export interface ResourceSnapshot {
  readonly at: number;
  readonly power: {
    readonly source: 'ac' | 'battery' | undefined;
    readonly batteryPercent: number | undefined;
    readonly batteryTrendPerHour: number | undefined;
  };
  readonly thermal: 'nominal' | 'fair' | 'serious' | 'critical' | undefined;
  readonly gpu: { readonly utilization: number | undefined; readonly memoryFraction: number | undefined; readonly name: string | undefined };
  readonly cpuLoad: number | undefined;
  readonly engine: { readonly realTimeFactor: number | undefined; readonly backlogSeconds: number | undefined };
}

export interface ScaleDecisionRecord {
  readonly at: number;
  readonly scaleId: string;
  readonly previousScaleId: string;
  readonly reason: string;
  readonly changed: boolean;
  readonly pressures: readonly string[];
  /** A hold for the same pressures as the entry before it: shown in its place, not below it. */
  readonly replacesLast: boolean;
}

export interface MonitorState {
  readonly mode: PolicyMode;
  readonly fixedScaleId: string | undefined;
  /** The bundle's ladder, finest first; empty when no bundle is installed. */
  readonly scaleIds: readonly string[];
  readonly currentScaleId: string | undefined;
  readonly latest: ResourceSnapshot | undefined;
  /** Most recent last; changes and the holds around them. */
  readonly decisions: readonly ScaleDecisionRecord[];
  readonly unavailableReason?: string;
}

// ---- live captions --------------------------------------------------------------------------------

export type LiveAudioSource = 'microphone' | 'system';
export const liveAudioSources: readonly LiveAudioSource[] = ['microphone', 'system'];

export interface LiveStartRequest {
  readonly audioSource: LiveAudioSource;
  /** The device's label as the OS names it, stored with the recording. */
  readonly deviceLabel: string;
  /** Mouth crops will be streamed too. */
  readonly camera: boolean;
}

export interface LiveSessionInfo {
  /** Also the run id under which the session's captions are stored. */
  readonly sessionId: number;
  readonly mediaId: number;
  readonly startedAt: string;
  readonly sampleRate: number;
  /** Mouth crops must have exactly this size (the bundle's ROI). */
  readonly roi: { readonly width: number; readonly height: number };
  readonly scaleIds: readonly string[];
  readonly recordingPath: string;
}

export interface LiveSessionSummary {
  readonly sessionId: number;
  readonly mediaId: number;
  readonly finals: number;
  readonly durationSeconds: number;
  readonly recordingPath: string;
}

export type CaptionModality = 'audio' | 'video' | 'audio-visual';

/** A caption of the phrase being spoken (`partial`, replaced as it grows) or of a finished phrase. */
export interface LiveCaption {
  readonly sessionId: number;
  /** Partials and the final of one phrase share it. */
  readonly phraseId: number;
  readonly kind: 'partial' | 'final';
  readonly startSeconds: number;
  readonly endSeconds: number;
  readonly text: string;
  readonly scaleId: string;
  readonly modality: CaptionModality;
  /** Lip video was streamed, but this phrase ran without it. */
  readonly videoMissing?: 'no-face' | 'no-video';
  /** Finals only: from the end of the phrase's speech to this caption, in ms. */
  readonly latencyMs?: number;
}

export type LiveState = 'listening' | 'speaking' | 'stopped' | 'failed';

export interface LiveStatus {
  readonly sessionId: number;
  readonly state: LiveState;
  readonly capturedSeconds: number;
  readonly processedSeconds: number;
  readonly backlogSeconds: number;
  readonly scaleId: string | undefined;
  /** Seconds of the session with no audio (a device unplugged or switched). */
  readonly audioGapSeconds: number;
  readonly video: 'off' | 'face' | 'no-face';
  readonly error?: NestcapError;
}

// ---- library, batch queue, transcripts, export, settings -------------------------------------------

export type MediaStatus = 'new' | 'queued' | 'running' | 'paused' | 'captioned' | 'failed' | 'cancelled' | 'missing' | 'unreadable';

export interface LibraryFolderView {
  readonly id: number;
  readonly path: string;
  readonly watched: boolean;
}

export interface LibraryMediaView {
  readonly id: number;
  readonly path: string;
  readonly name: string;
  readonly folderId: number | undefined;
  readonly durationSeconds: number | undefined;
  readonly status: MediaStatus;
  /** Why it failed or cannot be read. */
  readonly problem: string | undefined;
  readonly segments: number;
  /** The scales its current transcript was made with. */
  readonly scaleIds: readonly string[];
  /** Recorded by live captions rather than found in a folder. */
  readonly live: boolean;
  readonly hasVideo: boolean;
}

export interface LibraryView {
  readonly folders: readonly LibraryFolderView[];
  readonly media: readonly LibraryMediaView[];
}

export interface AddFolderResult {
  readonly folder: LibraryFolderView;
  readonly added: number;
  readonly duplicates: number;
  readonly skipped: readonly { readonly path: string; readonly reason: string }[];
  readonly queued: number;
}

export interface JobView {
  readonly jobId: number;
  readonly mediaId: number;
  readonly name: string;
  readonly state: 'queued' | 'running' | 'paused' | 'finished' | 'failed' | 'cancelled';
  readonly processedSeconds: number;
  readonly durationSeconds: number | undefined;
  /** Only while running and once there is a rate. */
  readonly etaSeconds: number | undefined;
  readonly error: string | undefined;
}

export interface BatchView {
  readonly paused: boolean;
  readonly jobs: readonly JobView[];
  readonly overall: { readonly processedSeconds: number; readonly totalSeconds: number; readonly etaSeconds: number | undefined };
}

export type JobAction = 'pause' | 'resume' | 'cancel' | 'retry';
export const jobActions: readonly JobAction[] = ['pause', 'resume', 'cancel', 'retry'];

export interface SearchHitView {
  readonly segmentId: number;
  readonly mediaId: number;
  readonly mediaName: string;
  readonly startSeconds: number;
  /** The text with the matched words wrapped in [ and ]. */
  readonly snippet: string;
}

export interface SegmentView {
  readonly id: number;
  readonly startSeconds: number;
  readonly endSeconds: number;
  readonly text: string;
  readonly scaleId: string | undefined;
  readonly modality: CaptionModality | undefined;
  readonly videoMissing: string | undefined;
  readonly edited: boolean;
}

export interface TranscriptView {
  readonly media: LibraryMediaView;
  readonly segments: readonly SegmentView[];
  readonly canUndo: boolean;
  readonly canRedo: boolean;
  /** Where the player loads the media from (same origin, authorised for this media only). */
  readonly mediaUrl: string;
}

export type TranscriptEdit =
  | { readonly kind: 'text'; readonly segmentId: number; readonly text: string }
  | { readonly kind: 'times'; readonly segmentId: number; readonly startSeconds: number; readonly endSeconds: number }
  | { readonly kind: 'split'; readonly segmentId: number; readonly atSeconds: number; readonly textIndex: number }
  | { readonly kind: 'merge'; readonly segmentId: number }
  | { readonly kind: 'delete'; readonly segmentId: number }
  | { readonly kind: 'replace-all'; readonly find: string; readonly replace: string; readonly matchCase: boolean }
  | { readonly kind: 'undo' }
  | { readonly kind: 'redo' };

export type ExportFormat = 'srt' | 'vtt' | 'txt' | 'json';
export const exportFormats: readonly ExportFormat[] = ['srt', 'vtt', 'txt', 'json'];

export interface CueSettings {
  readonly maxLineLength: number;
  readonly maxLines: number;
  readonly maxCharactersPerSecond: number;
}

export interface ExportRequestView {
  readonly mediaId: number;
  readonly format: ExportFormat;
  readonly cues: CueSettings;
  /** Undefined: next to the media file. */
  readonly directory?: string;
  readonly overwrite: boolean;
}

export type DevicePreferenceName = 'auto' | 'cuda' | 'dml' | 'coreml' | 'cpu';
export const devicePreferences: readonly DevicePreferenceName[] = ['auto', 'cuda', 'dml', 'coreml', 'cpu'];

/** 'system' follows the operating system's light/dark and contrast preferences. */
export type ThemeName = 'system' | 'light' | 'dark' | 'high-contrast';
export const themeNames: readonly ThemeName[] = ['system', 'light', 'dark', 'high-contrast'];

export interface ScaleSummary {
  readonly id: string;
  readonly audioRate: number;
  readonly videoRate: number;
  /** Tokens the LM reads per second of audio-visual media. */
  readonly lmTokensPerSecond: number | undefined;
  /** From the bundle's evaluation (percent), where it was measured. */
  readonly werCleanAudio: number | undefined;
  readonly werCleanAudioVisual: number | undefined;
  readonly werNoisyAudio: number | undefined;
  readonly werNoisyAudioVisual: number | undefined;
}

export interface SettingsView {
  readonly bundle: ComponentStatus<{ readonly id: string; readonly directory: string; readonly description: string; readonly scales: readonly ScaleSummary[]; readonly reportPath: string | undefined }>;
  readonly device: {
    readonly preference: DevicePreferenceName;
    /** What the recognizer actually runs on, once it has loaded; with the providers it skipped and why. */
    readonly used: ExecutionProviderName | undefined;
    readonly fallbacks: readonly { readonly provider: ExecutionProviderName; readonly reason: string }[];
  };
  readonly storage: { readonly dataDirectory: string; readonly databasePath: string; readonly recordingsDirectory: string };
  readonly appearance: { readonly theme: ThemeName };
}

/** Request/response channels: renderer asks, main answers. */
export interface RequestChannels {
  'system.getStatus': { request: Record<string, never>; response: SystemStatus };
  'monitor.getState': { request: Record<string, never>; response: MonitorState };
  'monitor.setMode': { request: { mode: PolicyMode; fixedScaleId?: string }; response: MonitorState };
  'live.start': { request: LiveStartRequest; response: LiveSessionInfo };
  'live.stop': { request: { sessionId: number }; response: LiveSessionSummary };
  /** The session in progress, if any (a second window, such as the overlay, attaches to it). */
  'live.current': { request: Record<string, never>; response: LiveSessionInfo | null };
  /** Lets clicks pass through the always-on-top caption overlay (desktop shell only). */
  'overlay.setClickThrough': { request: { enabled: boolean }; response: { enabled: boolean } };
  'library.get': { request: Record<string, never>; response: LibraryView };
  /** Adds a folder (scanned now, every media file queued for captioning). */
  'library.addFolder': { request: { path: string; watch: boolean }; response: AddFolderResult };
  'batch.get': { request: Record<string, never>; response: BatchView };
  'batch.setPaused': { request: { paused: boolean }; response: BatchView };
  'batch.jobAction': { request: { jobId: number; action: JobAction }; response: BatchView };
  'search.run': { request: { text: string }; response: readonly SearchHitView[] };
  'transcript.get': { request: { mediaId: number }; response: TranscriptView };
  'transcript.edit': { request: { mediaId: number; edit: TranscriptEdit }; response: TranscriptView };
  /** The first cues of an export, as text, without writing anything. */
  'export.preview': { request: ExportRequestView; response: { readonly text: string; readonly cueCount: number } };
  'export.write': { request: ExportRequestView; response: { readonly path: string } };
  'settings.get': { request: Record<string, never>; response: SettingsView };
  /** Takes effect when the recognizer next loads (at once when nothing is captioning). */
  'settings.setDevice': { request: { device: DevicePreferenceName }; response: SettingsView };
  'settings.setTheme': { request: { theme: ThemeName }; response: SettingsView };
}

/** Event channels: main pushes, renderer listens. */
export interface EventChannels {
  'system.heartbeat': Heartbeat;
  'monitor.sample': ResourceSnapshot;
  'monitor.decision': ScaleDecisionRecord;
  'live.caption': LiveCaption;
  'live.status': LiveStatus;
  /** The queue changed (a job moved on, progress); at most a few per second. */
  'batch.changed': BatchView;
  /** Media were added, captioned or edited: views of the library should re-read it. */
  'library.changed': { readonly mediaIds: readonly number[] };
  /** A native menu item the page carries out (the desktop shell's menus). */
  'app.command': AppCommand;
}

export type AppView = 'live' | 'library' | 'status' | 'settings';
export type AppCommand = { readonly command: 'show-view'; readonly view: AppView } | { readonly command: 'show-shortcuts' };

export type RequestChannel = keyof RequestChannels;
export type EventChannel = keyof EventChannels;
export type RequestOf<C extends RequestChannel> = RequestChannels[C]['request'];
export type ResponseOf<C extends RequestChannel> = RequestChannels[C]['response'];

export type Unsubscribe = () => void;

/** What the renderer sees, whichever host it runs in. */
export interface NestcapApi {
  invoke<C extends RequestChannel>(channel: C, request: RequestOf<C>): Promise<Result<ResponseOf<C>>>;
  subscribe<E extends EventChannel>(event: E, listener: (payload: EventChannels[E]) => void): Unsubscribe;
}

// ---- validation -------------------------------------------------------------------------------

type Validator<T> = (input: unknown, field: string) => Result<T>;

function isPlainObject(input: unknown): input is Record<string, unknown> {
  return typeof input === 'object' && input !== null && !Array.isArray(input);
}

const emptyObject: Validator<Record<string, never>> = (input, field) => {
  if (!isPlainObject(input)) return fail('invalid-request', 'expected an object', field);
  const extra = Object.keys(input);
  if (extra.length > 0) return fail('invalid-request', `unexpected field "${extra[0]}"`, `${field}.${extra[0]}`);
  return ok({});
};

const setModeRequest: Validator<RequestOf<'monitor.setMode'>> = (input, field) => {
  if (!isPlainObject(input)) return fail('invalid-request', 'expected an object', field);
  const { mode, fixedScaleId, ...rest } = input;
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) return fail('invalid-request', `unexpected field "${extra}"`, `${field}.${extra}`);
  if (typeof mode !== 'string' || !(policyModes as readonly string[]).includes(mode)) {
    return fail('invalid-request', `mode must be one of ${policyModes.join(', ')}`, `${field}.mode`);
  }
  if (fixedScaleId !== undefined && (typeof fixedScaleId !== 'string' || fixedScaleId.length === 0 || fixedScaleId.length > 64)) {
    return fail('invalid-request', 'fixedScaleId must be a scale id', `${field}.fixedScaleId`);
  }
  if (mode === 'fixed' && fixedScaleId === undefined) return fail('invalid-request', 'fixed mode needs fixedScaleId', `${field}.fixedScaleId`);
  return ok(fixedScaleId === undefined ? { mode: mode as PolicyMode } : { mode: mode as PolicyMode, fixedScaleId });
};

function onlyFields(input: Record<string, unknown>, allowed: readonly string[], field: string): Result<true> {
  const extra = Object.keys(input).find((key) => !allowed.includes(key));
  return extra === undefined ? ok(true) : fail('invalid-request', `unexpected field "${extra}"`, `${field}.${extra}`);
}

const liveStartRequest: Validator<LiveStartRequest> = (input, field) => {
  if (!isPlainObject(input)) return fail('invalid-request', 'expected an object', field);
  const fields = onlyFields(input, ['audioSource', 'deviceLabel', 'camera'], field);
  if (!fields.ok) return fields;
  const { audioSource, deviceLabel, camera } = input;
  if (typeof audioSource !== 'string' || !(liveAudioSources as readonly string[]).includes(audioSource)) {
    return fail('invalid-request', `audioSource must be one of ${liveAudioSources.join(', ')}`, `${field}.audioSource`);
  }
  if (typeof deviceLabel !== 'string' || deviceLabel.length > 200) {
    return fail('invalid-request', 'deviceLabel must be a string of at most 200 characters', `${field}.deviceLabel`);
  }
  if (typeof camera !== 'boolean') return fail('invalid-request', 'camera must be true or false', `${field}.camera`);
  return ok({ audioSource: audioSource as LiveAudioSource, deviceLabel, camera });
};

const sessionRequest: Validator<{ sessionId: number }> = (input, field) => {
  if (!isPlainObject(input)) return fail('invalid-request', 'expected an object', field);
  const fields = onlyFields(input, ['sessionId'], field);
  if (!fields.ok) return fields;
  const { sessionId } = input;
  if (typeof sessionId !== 'number' || !Number.isSafeInteger(sessionId) || sessionId <= 0) {
    return fail('invalid-request', 'sessionId must be a positive integer', `${field}.sessionId`);
  }
  return ok({ sessionId });
};

// Small composable checks for the library, editor and export channels.
type Check<T> = (value: unknown, field: string) => Result<T>;

const id: Check<number> = (value, field) =>
  typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? ok(value) : fail('invalid-request', 'must be a positive integer', field);
const seconds: Check<number> = (value, field) =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 && value < 1e7 ? ok(value) : fail('invalid-request', 'must be a time in seconds', field);
const bool: Check<boolean> = (value, field) => (typeof value === 'boolean' ? ok(value) : fail('invalid-request', 'must be true or false', field));
const text = (max: number, allowEmpty = true): Check<string> => (value, field) =>
  typeof value === 'string' && value.length <= max && (allowEmpty || value.length > 0)
    ? ok(value)
    : fail('invalid-request', allowEmpty ? `must be text of at most ${max} characters` : `must be non-empty text of at most ${max} characters`, field);
const integerIn = (low: number, high: number): Check<number> => (value, field) =>
  typeof value === 'number' && Number.isInteger(value) && value >= low && value <= high ? ok(value) : fail('invalid-request', `must be a whole number from ${low} to ${high}`, field);
const oneOf = <T extends string>(options: readonly T[]): Check<T> => (value, field) =>
  typeof value === 'string' && (options as readonly string[]).includes(value) ? ok(value as T) : fail('invalid-request', `must be one of ${options.join(', ')}`, field);

/** An object with exactly these fields (optional ones marked by allowing undefined in the check). */
function shape<T>(checks: { readonly [K in keyof T]-?: Check<T[K]> }, optional: readonly (keyof T)[] = []): Validator<T> {
  return (input, field) => {
    if (!isPlainObject(input)) return fail('invalid-request', 'expected an object', field);
    const fields = onlyFields(input, Object.keys(checks), field);
    if (!fields.ok) return fields;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(checks) as (keyof T & string)[]) {
      if (input[key] === undefined && optional.includes(key)) continue;
      const checked = checks[key](input[key], `${field}.${key}`);
      if (!checked.ok) return checked;
      out[key] = checked.value;
    }
    return ok(out as T);
  };
}

const cueSettings = shape<CueSettings>({ maxLineLength: integerIn(16, 80), maxLines: integerIn(1, 3), maxCharactersPerSecond: integerIn(8, 40) });
const exportRequest = shape<ExportRequestView>(
  { mediaId: id, format: oneOf(exportFormats), cues: cueSettings, directory: text(4096, false), overwrite: bool },
  ['directory'],
);

const transcriptEdit: Check<TranscriptEdit> = (input, field) => {
  if (!isPlainObject(input)) return fail('invalid-request', 'expected an object', field);
  switch (input.kind) {
    case 'text':
      return shape<{ kind: 'text'; segmentId: number; text: string }>({ kind: oneOf(['text']), segmentId: id, text: text(5000) })(input, field);
    case 'times': {
      const checked = shape<{ kind: 'times'; segmentId: number; startSeconds: number; endSeconds: number }>({ kind: oneOf(['times']), segmentId: id, startSeconds: seconds, endSeconds: seconds })(input, field);
      if (checked.ok && checked.value.endSeconds < checked.value.startSeconds) return fail('invalid-request', 'a segment cannot end before it starts', `${field}.endSeconds`);
      return checked;
    }
    case 'split':
      return shape<{ kind: 'split'; segmentId: number; atSeconds: number; textIndex: number }>({ kind: oneOf(['split']), segmentId: id, atSeconds: seconds, textIndex: integerIn(0, 5000) })(input, field);
    case 'merge':
      return shape<{ kind: 'merge'; segmentId: number }>({ kind: oneOf(['merge']), segmentId: id })(input, field);
    case 'delete':
      return shape<{ kind: 'delete'; segmentId: number }>({ kind: oneOf(['delete']), segmentId: id })(input, field);
    case 'replace-all':
      return shape<{ kind: 'replace-all'; find: string; replace: string; matchCase: boolean }>({ kind: oneOf(['replace-all']), find: text(500, false), replace: text(500), matchCase: bool })(input, field);
    case 'undo':
      return shape<{ kind: 'undo' }>({ kind: oneOf(['undo']) })(input, field);
    case 'redo':
      return shape<{ kind: 'redo' }>({ kind: oneOf(['redo']) })(input, field);
    default:
      return fail('invalid-request', 'kind must be one of text, times, split, merge, delete, replace-all, undo, redo', `${field}.kind`);
  }
};

const requestValidators: { readonly [C in RequestChannel]: Validator<RequestOf<C>> } = {
  'system.getStatus': emptyObject,
  'monitor.getState': emptyObject,
  'monitor.setMode': setModeRequest,
  'live.start': liveStartRequest,
  'live.stop': sessionRequest,
  'live.current': emptyObject,
  'overlay.setClickThrough': (input, field) => {
    if (!isPlainObject(input)) return fail('invalid-request', 'expected an object', field);
    const fields = onlyFields(input, ['enabled'], field);
    if (!fields.ok) return fields;
    return typeof input.enabled === 'boolean' ? ok({ enabled: input.enabled }) : fail('invalid-request', 'enabled must be true or false', `${field}.enabled`);
  },
  'library.get': emptyObject,
  'library.addFolder': shape<{ path: string; watch: boolean }>({ path: text(4096, false), watch: bool }),
  'batch.get': emptyObject,
  'batch.setPaused': shape<{ paused: boolean }>({ paused: bool }),
  'batch.jobAction': shape<{ jobId: number; action: JobAction }>({ jobId: id, action: oneOf(jobActions) }),
  'search.run': shape<{ text: string }>({ text: text(200) }),
  'transcript.get': shape<{ mediaId: number }>({ mediaId: id }),
  'transcript.edit': shape<{ mediaId: number; edit: TranscriptEdit }>({ mediaId: id, edit: transcriptEdit }),
  'export.preview': exportRequest,
  'export.write': exportRequest,
  'settings.get': emptyObject,
  'settings.setDevice': shape<{ device: DevicePreferenceName }>({ device: oneOf(devicePreferences) }),
  'settings.setTheme': shape<{ theme: ThemeName }>({ theme: oneOf(themeNames) }),
};

export const requestChannelNames = Object.keys(requestValidators) as readonly RequestChannel[];
export const eventChannelNames: readonly EventChannel[] = [
  'system.heartbeat',
  'monitor.sample',
  'monitor.decision',
  'live.caption',
  'live.status',
  'batch.changed',
  'library.changed',
  'app.command',
];

export function isRequestChannel(name: unknown): name is RequestChannel {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(requestValidators, name);
}

export function isEventChannel(name: unknown): name is EventChannel {
  return typeof name === 'string' && (eventChannelNames as readonly string[]).includes(name);
}

/** Checks an untrusted request payload; every host calls this before any service sees it. */
export function validateRequest<C extends RequestChannel>(channel: C, payload: unknown): Result<RequestOf<C>> {
  return requestValidators[channel](payload, 'request');
}

// ---- live media frames ------------------------------------------------------------------------------

/**
 * Binary frames of live media, the same bytes on every transport (Electron MessagePort, the
 * browser host's WebSocket). Little-endian header of {@link liveFrameHeaderBytes} bytes:
 * magic u32, kind u8 (1 audio, 2 video), flags u8 (video: 1 = face found), width u16,
 * sessionId u32, height u16, reserved u16, time f64 (audio: index of the first sample in the
 * session; video: milliseconds since the session started); then the payload: float32 samples
 * at 16 kHz, or width × height grayscale bytes of the mouth crop (none when no face).
 */
export const liveFrameMagic = 0x314c434e; // "NCL1"
export const liveFrameHeaderBytes = 24;
export const liveSampleRate = 16000;
/** One second of audio at most per frame: a bigger frame is a bug or an attack. */
export const maxLiveFrameSamples = liveSampleRate;
export const maxLiveRoiSide = 256;

export type LiveFrame =
  | { readonly kind: 'audio'; readonly sessionId: number; readonly startSample: number; readonly samples: Float32Array }
  | { readonly kind: 'video'; readonly sessionId: number; readonly timeMs: number; readonly roi: { readonly width: number; readonly height: number; readonly pixels: Uint8Array } | undefined };

function writeHeader(view: DataView, kind: 1 | 2, flags: number, sessionId: number, width: number, height: number, time: number): void {
  view.setUint32(0, liveFrameMagic, true);
  view.setUint8(4, kind);
  view.setUint8(5, flags);
  view.setUint16(6, width, true);
  view.setUint32(8, sessionId, true);
  view.setUint16(12, height, true);
  view.setUint16(14, 0, true);
  view.setFloat64(16, time, true);
}

export function encodeLiveAudioFrame(sessionId: number, startSample: number, samples: Float32Array): ArrayBuffer {
  const buffer = new ArrayBuffer(liveFrameHeaderBytes + samples.length * 4);
  writeHeader(new DataView(buffer), 1, 0, sessionId, 0, 0, startSample);
  new Float32Array(buffer, liveFrameHeaderBytes).set(samples);
  return buffer;
}

export function encodeLiveVideoFrame(sessionId: number, timeMs: number, roi: { width: number; height: number; pixels: Uint8Array } | undefined): ArrayBuffer {
  const buffer = new ArrayBuffer(liveFrameHeaderBytes + (roi ? roi.pixels.length : 0));
  writeHeader(new DataView(buffer), 2, roi ? 1 : 0, sessionId, roi?.width ?? 0, roi?.height ?? 0, timeMs);
  if (roi) new Uint8Array(buffer, liveFrameHeaderBytes).set(roi.pixels);
  return buffer;
}

/** Parses one untrusted frame; the payload is copied, so the caller may keep it. */
export function decodeLiveFrame(data: ArrayBuffer | ArrayBufferView): Result<LiveFrame> {
  const bytes = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
  if (bytes.byteLength < liveFrameHeaderBytes) return fail('invalid-request', `a live frame needs at least ${liveFrameHeaderBytes} bytes, got ${bytes.byteLength}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== liveFrameMagic) return fail('invalid-request', 'not a live media frame (bad magic number)');
  const kind = view.getUint8(4);
  const flags = view.getUint8(5);
  const width = view.getUint16(6, true);
  const sessionId = view.getUint32(8, true);
  const height = view.getUint16(12, true);
  const time = view.getFloat64(16, true);
  const payload = bytes.byteLength - liveFrameHeaderBytes;
  if (sessionId === 0) return fail('invalid-request', 'a live frame needs a session id', 'sessionId');
  if (!Number.isFinite(time) || time < 0) return fail('invalid-request', 'a live frame needs a non-negative time', 'time');
  if (kind === 1) {
    if (!Number.isSafeInteger(time)) return fail('invalid-request', 'an audio frame starts at a whole sample', 'time');
    if (payload % 4 !== 0 || payload === 0 || payload / 4 > maxLiveFrameSamples) {
      return fail('invalid-request', `an audio frame carries 1 to ${maxLiveFrameSamples} float32 samples`, 'samples');
    }
    const samples = new Float32Array(payload / 4);
    new Uint8Array(samples.buffer).set(bytes.subarray(liveFrameHeaderBytes));
    for (const sample of samples) if (!Number.isFinite(sample)) return fail('invalid-request', 'audio samples must be finite', 'samples');
    return ok({ kind: 'audio', sessionId, startSample: time, samples });
  }
  if (kind === 2) {
    if ((flags & 1) === 0) {
      return payload === 0 ? ok({ kind: 'video', sessionId, timeMs: time, roi: undefined }) : fail('invalid-request', 'a frame without a face carries no pixels', 'roi');
    }
    if (width === 0 || height === 0 || width > maxLiveRoiSide || height > maxLiveRoiSide || payload !== width * height) {
      return fail('invalid-request', `a mouth crop is width × height bytes, each side 1 to ${maxLiveRoiSide}`, 'roi');
    }
    return ok({ kind: 'video', sessionId, timeMs: time, roi: { width, height, pixels: bytes.slice(liveFrameHeaderBytes) } });
  }
  return fail('invalid-request', `unknown live frame kind ${kind}`, 'kind');
}

// ---- browser host wire format -------------------------------------------------------------------

/** Largest message the browser host accepts; audio travels as binary frames, never as JSON. */
export const maxWireMessageBytes = 1024 * 1024;

export type ClientMessage =
  | { readonly type: 'hello'; readonly token: string }
  | { readonly type: 'request'; readonly id: number; readonly channel: string; readonly payload: unknown };

export type ServerMessage =
  | { readonly type: 'welcome'; readonly host: 'browser' }
  | { readonly type: 'response'; readonly id: number; readonly result: Result<unknown> }
  | { readonly type: 'event'; readonly event: EventChannel; readonly payload: unknown }
  | { readonly type: 'rejected'; readonly error: NestcapError }
  /** A live media frame was dropped (at most one report a second); the connection stays open. */
  | { readonly type: 'media-rejected'; readonly error: NestcapError };

/** Parses one text frame from an untrusted client. */
export function parseClientMessage(text: string): Result<ClientMessage> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return fail('invalid-request', 'message is not valid JSON');
  }
  if (!isPlainObject(parsed)) return fail('invalid-request', 'message must be a JSON object');
  if (parsed.type === 'hello') {
    if (typeof parsed.token !== 'string' || parsed.token.length === 0) {
      return fail('invalid-request', 'hello needs a token string', 'token');
    }
    return ok({ type: 'hello', token: parsed.token });
  }
  if (parsed.type === 'request') {
    const { id, channel } = parsed;
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
      return fail('invalid-request', 'request id must be a non-negative integer', 'id');
    }
    if (typeof channel !== 'string') return fail('invalid-request', 'channel must be a string', 'channel');
    return ok({ type: 'request', id, channel, payload: parsed.payload });
  }
  return fail('invalid-request', 'unknown message type', 'type');
}

// ---- Electron transport ----------------------------------------------------------------------------

/** ipcMain/ipcRenderer channel names the preload and the shell agree on. */
export const electronIpc = {
  request: 'nestcap:request',
  event: 'nestcap:event',
  /** Carries the renderer's end of a live media MessageChannel to the main process. */
  mediaPort: 'nestcap:media-port',
} as const;

/** What the page posts to its own window so the preload can hand a media port to the main process. */
export const mediaPortMessage = 'nestcap:media-port';

/** The name under which the preload exposes {@link NestcapApi} on `window`. */
export const exposedApiName = 'nestcap';

/** The preload's one file helper: the disk path of a dropped file (Electron's webUtils). */
export const exposedFilesName = 'nestcapFiles';
