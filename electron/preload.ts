import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import {
  electronIpc,
  exposedApiName,
  isEventChannel,
  type EventChannel,
  type EventChannels,
  type NestcapApi,
  type RequestChannel,
  type RequestOf,
  type ResponseOf,
  type Result,
} from './ipc/contract.js';

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
