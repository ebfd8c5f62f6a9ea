import captureWorkletUrl from './capture-worklet.ts?worker&url';
import type { CaptureLevel, CaptureOptions } from './capture-worklet.js';

/**
 * Audio capture for live captions: a microphone or the system's own output, played into a
 * 16 kHz AudioContext whose worklet sends 100 ms frames to the main process over a media port.
 */

export type AudioSourceKind = 'microphone' | 'system';

export interface AudioInputChoice {
  readonly deviceId: string;
  readonly label: string;
  /** PulseAudio/PipeWire expose what the speakers play as "Monitor of …" inputs. */
  readonly isMonitor: boolean;
}

export type CaptureProblem =
  | { readonly kind: 'no-device'; readonly message: string }
  | { readonly kind: 'permission-denied'; readonly message: string }
  | { readonly kind: 'device-busy'; readonly message: string }
  | { readonly kind: 'no-system-audio'; readonly message: string }
  | { readonly kind: 'failed'; readonly message: string };

export interface AudioCapture {
  readonly label: string;
  stop(): Promise<void>;
}

export interface AudioCaptureOptions {
  readonly source: AudioSourceKind;
  readonly sessionId: number;
  readonly startSample: number;
  readonly mediaPort: MessagePort;
  readonly onLevel: (level: CaptureLevel) => void;
  /** The device went away (unplugged, or another app took it). */
  readonly onEnded: (label: string) => void;
}

export const frameSamples = 1600;

export async function listAudioInputs(mediaDevices: MediaDevices): Promise<AudioInputChoice[]> {
  const devices = await mediaDevices.enumerateDevices();
  return devices
    .filter((device) => device.kind === 'audioinput' && device.deviceId !== '')
    .map((device, index) => ({
      deviceId: device.deviceId,
      label: device.label || `Microphone ${index + 1}`,
      isMonitor: /^monitor of /i.test(device.label),
    }));
}

/** Turns getUserMedia's DOMExceptions into states the live view can explain. */
export function describeCaptureError(error: unknown, source: AudioSourceKind | 'camera'): CaptureProblem {
  const name = error instanceof DOMException ? error.name : '';
  const what = source === 'camera' ? 'camera' : source === 'system' ? 'system audio' : 'microphone';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return { kind: 'permission-denied', message: `Nestcap is not allowed to use the ${what}. Allow it in the system's privacy settings, then try again.` };
    case 'NotFoundError':
    case 'OverconstrainedError':
      return { kind: 'no-device', message: `No ${what} was found. Plug one in or choose another.` };
    case 'NotReadableError':
    case 'AbortError':
      return { kind: 'device-busy', message: `The ${what} could not be opened; another app may be using it.` };
    default:
      return { kind: 'failed', message: `The ${what} could not start: ${error instanceof Error ? error.message : String(error)}` };
  }
}

export class CaptureError extends Error {
  constructor(readonly problem: CaptureProblem) {
    super(problem.message);
  }
}

/**
 * Opens the input (asking for permission) before any session exists, so a refusal or a missing
 * device is reported without starting anything. `deviceId` undefined takes the system default,
 * or for system audio the first monitor input.
 */
export async function openAudioInput(mediaDevices: MediaDevices, source: AudioSourceKind, deviceId: string | undefined): Promise<MediaStream> {
  try {
    return await openStream(mediaDevices, source, deviceId);
  } catch (error) {
    throw error instanceof CaptureError ? error : new CaptureError(describeCaptureError(error, source));
  }
}

async function openStream(mediaDevices: MediaDevices, source: AudioSourceKind, deviceId: string | undefined): Promise<MediaStream> {
  const constraints = (deviceId: string | undefined, forSpeech: boolean): MediaStreamConstraints => ({
    audio: {
      ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
      channelCount: 1,
      // A microphone in a call needs echo cancellation (or it captions the speakers twice).
      // Noise suppression and gain control reshape speech in ways the recognizer was not
      // trained on (its lip reading is what copes with noise), and a monitor source is clean.
      echoCancellation: forSpeech,
      noiseSuppression: false,
      autoGainControl: false,
    },
    video: false,
  });
  if (source === 'microphone') return mediaDevices.getUserMedia(constraints(deviceId, true));
  const monitor = deviceId ?? (await listAudioInputs(mediaDevices)).find((input) => input.isMonitor)?.deviceId;
  if (monitor) return mediaDevices.getUserMedia(constraints(monitor, false));
  // Windows and macOS share system audio through screen capture (Electron grants it as loopback).
  const display = await mediaDevices.getDisplayMedia({ audio: true, video: true });
  for (const track of display.getVideoTracks()) {
    track.stop();
    display.removeTrack(track);
  }
  if (display.getAudioTracks().length === 0) {
    throw new CaptureError({
      kind: 'no-system-audio',
      message: 'This system did not share its audio. On Linux choose a "Monitor of …" input; elsewhere allow audio when sharing the screen.',
    });
  }
  return display;
}

/** Streams an opened input to the main process; the capture owns the stream from here on. */
export async function startAudioCapture(stream: MediaStream, options: AudioCaptureOptions): Promise<AudioCapture> {
  const [track] = stream.getAudioTracks();
  const label = track?.label || (options.source === 'system' ? 'System audio' : 'Microphone');
  const context = new AudioContext({ sampleRate: 16000, latencyHint: 'interactive' });
  try {
    await context.audioWorklet.addModule(captureWorkletUrl);
    const source = context.createMediaStreamSource(stream);
    const processorOptions: CaptureOptions = { sessionId: options.sessionId, startSample: options.startSample, frameSamples };
    const node = new AudioWorkletNode(context, 'nestcap-capture', { numberOfInputs: 1, numberOfOutputs: 1, channelCount: 1, channelCountMode: 'explicit', processorOptions });
    node.port.postMessage({ type: 'media-port', port: options.mediaPort }, [options.mediaPort]);
    node.port.onmessage = (event: MessageEvent<CaptureLevel>) => options.onLevel(event.data);
    // The worklet writes no output; connecting it keeps the graph pulling it on every browser.
    const silence = context.createGain();
    silence.gain.value = 0;
    source.connect(node);
    node.connect(silence).connect(context.destination);
    await context.resume();
    let stopped = false;
    track?.addEventListener('ended', () => {
      if (!stopped) options.onEnded(label);
    });
    return {
      label,
      async stop() {
        stopped = true;
        node.port.postMessage({ type: 'stop' });
        // Give the worklet one render quantum to send its last partial frame.
        await new Promise((resolve) => setTimeout(resolve, 30));
        source.disconnect();
        node.disconnect();
        for (const each of stream.getTracks()) each.stop();
        await context.close();
      },
    };
  } catch (error) {
    for (const each of stream.getTracks()) each.stop();
    await context.close();
    throw new CaptureError({ kind: 'failed', message: `Audio capture could not start: ${error instanceof Error ? error.message : String(error)}` });
  }
}
