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

/** Request/response channels: renderer asks, main answers. */
export interface RequestChannels {
  'system.getStatus': { request: Record<string, never>; response: SystemStatus };
  'monitor.getState': { request: Record<string, never>; response: MonitorState };
  'monitor.setMode': { request: { mode: PolicyMode; fixedScaleId?: string }; response: MonitorState };
}

/** Event channels: main pushes, renderer listens. */
export interface EventChannels {
  'system.heartbeat': Heartbeat;
  'monitor.sample': ResourceSnapshot;
  'monitor.decision': ScaleDecisionRecord;
}

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

const requestValidators: { readonly [C in RequestChannel]: Validator<RequestOf<C>> } = {
  'system.getStatus': emptyObject,
  'monitor.getState': emptyObject,
  'monitor.setMode': setModeRequest,
};

export const requestChannelNames = Object.keys(requestValidators) as readonly RequestChannel[];
export const eventChannelNames: readonly EventChannel[] = ['system.heartbeat', 'monitor.sample', 'monitor.decision'];

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

// ---- browser host wire format -------------------------------------------------------------------

/** Largest message the browser host accepts; audio never travels as JSON. */
export const maxWireMessageBytes = 1024 * 1024;

export type ClientMessage =
  | { readonly type: 'hello'; readonly token: string }
  | { readonly type: 'request'; readonly id: number; readonly channel: string; readonly payload: unknown };

export type ServerMessage =
  | { readonly type: 'welcome'; readonly host: 'browser' }
  | { readonly type: 'response'; readonly id: number; readonly result: Result<unknown> }
  | { readonly type: 'event'; readonly event: EventChannel; readonly payload: unknown }
  | { readonly type: 'rejected'; readonly error: NestcapError };

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
} as const;

/** The name under which the preload exposes {@link NestcapApi} on `window`. */
export const exposedApiName = 'nestcap';
