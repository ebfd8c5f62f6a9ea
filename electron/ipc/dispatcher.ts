import {
  fail,
  isRequestChannel,
  validateRequest,
  type RequestChannel,
  type RequestOf,
  type ResponseOf,
  type Result,
} from './contract.js';

/** One handler per channel; handlers receive payloads that already passed validation. */
export type RequestHandlers = {
  readonly [C in RequestChannel]: (request: RequestOf<C>) => Promise<Result<ResponseOf<C>>>;
};

export interface DispatchLog {
  warn(message: string, details?: Record<string, unknown>): void;
  error(message: string, details?: Record<string, unknown>): void;
}

export type Dispatch = (channel: unknown, payload: unknown) => Promise<Result<unknown>>;

/**
 * The single entry point both hosts use: checks the channel and the payload, then calls the
 * handler. Nothing thrown by a service escapes as a string; it becomes an `internal` error value.
 */
export function createDispatcher(handlers: RequestHandlers, log: DispatchLog): Dispatch {
  return async (channel, payload) => {
    if (!isRequestChannel(channel)) {
      log.warn('rejected request on unknown channel', { channel: String(channel).slice(0, 80) });
      return fail('unknown-channel', `unknown channel "${String(channel).slice(0, 80)}"`);
    }
    return dispatchKnown(handlers, channel, payload, log);
  };
}

async function dispatchKnown<C extends RequestChannel>(
  handlers: RequestHandlers,
  channel: C,
  payload: unknown,
  log: DispatchLog,
): Promise<Result<unknown>> {
  const request = validateRequest(channel, payload);
  if (!request.ok) {
    log.warn('rejected malformed request', { channel, error: request.error });
    return request;
  }
  const handler = handlers[channel];
  try {
    return await handler(request.value);
  } catch (error) {
    log.error('handler failed', { channel, error: error instanceof Error ? error.stack : String(error) });
    return fail('internal', error instanceof Error ? error.message : 'unexpected failure');
  }
}
