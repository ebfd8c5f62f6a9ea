import { exposedApiName, exposedFilesName, mediaPortMessage, type NestcapApi, type NestcapError } from '../../electron/ipc/contract.js';
import { connectBrowserHost, type ConnectionState } from './browser-host-client.js';

export interface ApiConnection {
  readonly api: NestcapApi;
  /** Electron's preload is always connected; the browser host can drop, and says why. */
  onStateChange(listener: (state: ConnectionState) => void): () => void;
  /**
   * A port for live media frames (the contract's encodeLiveAudioFrame/encodeLiveVideoFrame),
   * posted with their buffers transferred; the capture worklet writes to it directly. In
   * Electron it reaches the main process as a MessagePortMain, in the browser host the frames
   * become binary WebSocket messages.
   */
  openMediaPort(): MessagePort;
  /** Where a dropped file or folder lives on disk; only the desktop shell can tell. */
  pathForDroppedFile(file: File): string | undefined;
  /** Live media frames the main side dropped, with why. */
  onMediaProblem(listener: (error: NestcapError) => void): () => void;
}

/** Uses the preload's API inside Electron, and the loopback browser host everywhere else. */
export function connectApi(window: Window): ApiConnection {
  const exposed = (window as unknown as Record<string, unknown>)[exposedApiName] as NestcapApi | undefined;
  if (exposed !== undefined) {
    const files = (window as unknown as Record<string, unknown>)[exposedFilesName] as { pathFor(file: File): string } | undefined;
    return {
      api: exposed,
      pathForDroppedFile: (file) => files?.pathFor(file) || undefined,
      openMediaPort() {
        // The preload forwards this port to the main process (ports cannot cross the context bridge).
        const channel = new MessageChannel();
        window.postMessage(mediaPortMessage, window.location.origin, [channel.port1]);
        return channel.port2;
      },
      onMediaProblem: () => () => undefined,
      onStateChange(listener) {
        listener({ kind: 'connected', host: 'electron' });
        return () => undefined;
      },
    };
  }
  return connectBrowserHost(window);
}

export type { ConnectionState };
