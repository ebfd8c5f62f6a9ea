import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import {
  electronIpc,
  exposedApiName,
  exposedFilesName,
  mediaPortMessage,
  isEventChannel,
  type EventChannel,
  type EventChannels,
  type NestcapApi,
  type RequestChannel,
  type RequestOf,
  type ResponseOf,
  type Result,
} from './ipc/contract.js';

type PagePort = NonNullable<Parameters<typeof ipcRenderer.postMessage>[2]>[number];

/** The page's window as this isolated world sees it (this file is compiled without DOM types). */
declare const window: {
  readonly location: { readonly origin: string };
  addEventListener(type: 'message', listener: (event: { readonly source: unknown; readonly origin: string; readonly data: unknown; readonly ports: readonly unknown[] }) => void): void;
};

/**
 * Sandboxed preload: exposes the typed contract and nothing else. The renderer never sees
 * ipcRenderer itself, so it cannot reach channels outside the contract.
 */
const api: NestcapApi = {
  invoke<C extends RequestChannel>(channel: C, request: RequestOf<C>): Promise<Result<ResponseOf<C>>> {
    return ipcRenderer.invoke(electronIpc.request, channel, request) as Promise<Result<ResponseOf<C>>>;
  },
  subscribe<E extends EventChannel>(event: E, listener: (payload: EventChannels[E]) => void) {
    const forward = (_sender: IpcRendererEvent, name: unknown, payload: unknown) => {
      if (isEventChannel(name) && name === event) listener(payload as EventChannels[E]);
    };
    ipcRenderer.on(electronIpc.event, forward);
    return () => {
      ipcRenderer.removeListener(electronIpc.event, forward);
    };
  },
};

contextBridge.exposeInMainWorld(exposedApiName, api);
contextBridge.exposeInMainWorld(exposedFilesName, { pathFor: (file: Parameters<typeof webUtils.getPathForFile>[0]) => webUtils.getPathForFile(file) });

// MessagePorts cannot cross the context bridge, so the page posts the live-media port to its own
// window and this isolated world hands it to the main process.
window.addEventListener('message', (event) => {
  if (event.source !== window || event.origin !== window.location.origin || event.data !== mediaPortMessage) return;
  const [port] = event.ports;
  if (port) ipcRenderer.postMessage(electronIpc.mediaPort, null, [port as PagePort]);
});
