import {
  fail,
  type EventChannel,
  type EventChannels,
  type NestcapApi,
  type RequestChannel,
  type RequestOf,
  type ResponseOf,
  type Result,
  type NestcapError,
  type ServerMessage,
} from '../../electron/ipc/contract.js';

export type ConnectionState =
  | { readonly kind: 'connecting' }
  | { readonly kind: 'connected'; readonly host: 'electron' | 'browser' }
  | { readonly kind: 'disconnected'; readonly reason: string };

type Pending = (result: Result<unknown>) => void;

const maxBufferedMediaBytes = 4 * 1024 * 1024;

/**
 * The renderer's side of the browser host: the same NestcapApi as the preload, carried over
 * the loopback WebSocket. The token arrives in the URL fragment and is removed from the address
 * bar at once, so it does not linger in history or screenshots.
 */
export function connectBrowserHost(window: Window) {
  const token = new URLSearchParams(window.location.hash.slice(1)).get('token') ?? '';
  window.history.replaceState(null, '', window.location.pathname + window.location.search);

  const stateListeners = new Set<(state: ConnectionState) => void>();
  const eventListeners = new Map<EventChannel, Set<(payload: unknown) => void>>();
  const pending = new Map<number, Pending>();
  const queued: string[] = [];
  const mediaProblemListeners = new Set<(error: NestcapError) => void>();
  let state: ConnectionState = { kind: 'connecting' };
  let nextId = 1;

  const setState = (next: ConnectionState) => {
    state = next;
    for (const listener of stateListeners) listener(state);
  };

  const socket = new WebSocket(`ws://${window.location.host}/ipc`);
  socket.addEventListener('open', () => socket.send(JSON.stringify({ type: 'hello', token })));
  socket.addEventListener('message', (event: MessageEvent<unknown>) => {
    if (typeof event.data !== 'string') return;
    const message = JSON.parse(event.data) as ServerMessage;
    switch (message.type) {
      case 'welcome':
        setState({ kind: 'connected', host: message.host });
        for (const text of queued.splice(0)) socket.send(text);
        break;
      case 'response':
        pending.get(message.id)?.(message.result);
        pending.delete(message.id);
        break;
      case 'event':
        for (const listener of eventListeners.get(message.event) ?? []) listener(message.payload);
        break;
      case 'rejected':
        setState({ kind: 'disconnected', reason: message.error.message });
        break;
      case 'media-rejected':
        for (const listener of mediaProblemListeners) listener(message.error);
        break;
    }
  });
  socket.addEventListener('close', (event) => {
    if (state.kind !== 'disconnected') {
      setState({ kind: 'disconnected', reason: event.reason || `connection closed (code ${event.code})` });
    }
    for (const resolve of pending.values()) resolve(fail('unavailable', 'the connection to Nestcap closed'));
    pending.clear();
  });

  const api: NestcapApi = {
    invoke<C extends RequestChannel>(channel: C, request: RequestOf<C>): Promise<Result<ResponseOf<C>>> {
      if (state.kind === 'disconnected') return Promise.resolve(fail('unavailable', state.reason));
      const id = nextId++;
      const text = JSON.stringify({ type: 'request', id, channel, payload: request });
      return new Promise((resolve) => {
        pending.set(id, resolve as Pending);
        if (state.kind === 'connected') socket.send(text);
        else queued.push(text);
      });
    },
    subscribe<E extends EventChannel>(event: E, listener: (payload: EventChannels[E]) => void) {
      const listeners = eventListeners.get(event) ?? new Set();
      const untyped = listener as (payload: unknown) => void;
      listeners.add(untyped);
      eventListeners.set(event, listeners);
      return () => {
        listeners.delete(untyped);
      };
    },
  };

  return {
    api,
    // A browser never reveals where a dropped file lives.
    pathForDroppedFile: () => undefined,
    openMediaPort() {
      // Frames go out as binary WebSocket messages, the same bytes Electron's port carries.
      const channel = new MessageChannel();
      channel.port1.onmessage = (event: MessageEvent<unknown>) => {
        if (!(event.data instanceof ArrayBuffer) || state.kind !== 'connected') return;
        // A stalled socket must not grow memory without bound: drop media rather than queue it.
        if (socket.bufferedAmount > maxBufferedMediaBytes) return;
        socket.send(event.data);
      };
      return channel.port2;
    },
    onMediaProblem(listener: (error: NestcapError) => void) {
      mediaProblemListeners.add(listener);
      return () => {
        mediaProblemListeners.delete(listener);
      };
    },
    onStateChange(listener: (state: ConnectionState) => void) {
      stateListeners.add(listener);
      listener(state);
      return () => {
        stateListeners.delete(listener);
      };
    },
  };
}
