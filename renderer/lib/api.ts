import { exposedApiName, type NestcapApi } from '../../electron/ipc/contract.js';
import { connectBrowserHost, type ConnectionState } from './browser-host-client.js';

export interface ApiConnection {
  readonly api: NestcapApi;
  /** Electron's preload is always connected; the browser host can drop, and says why. */
  onStateChange(listener: (state: ConnectionState) => void): () => void;
}

/** Uses the preload's API inside Electron, and the loopback browser host everywhere else. */
export function connectApi(window: Window): ApiConnection {
  const exposed = (window as unknown as Record<string, unknown>)[exposedApiName] as NestcapApi | undefined;
  if (exposed !== undefined) {
    return {
      api: exposed,
      onStateChange(listener) {
        listener({ kind: 'connected', host: 'electron' });
        return () => undefined;
      },
    };
  }
  return connectBrowserHost(window);
}

export type { ConnectionState };
