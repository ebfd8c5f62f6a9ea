import type { EventChannel, EventChannels } from '../ipc/contract.js';

export type AnyEventListener = <E extends EventChannel>(event: E, payload: EventChannels[E]) => void;

/** Fan-out of main-side events to every connected host (Electron windows, browser clients). */
export class EventBus {
  readonly #listeners = new Set<AnyEventListener>();

  subscribe(listener: AnyEventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit<E extends EventChannel>(event: E, payload: EventChannels[E]): void {
    for (const listener of this.#listeners) listener(event, payload);
  }
}
