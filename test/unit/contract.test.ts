import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fail, isRequestChannel, parseClientMessage, requestChannelNames, validateRequest } from '../../electron/ipc/contract.js';
import { createDispatcher, type RequestHandlers } from '../../electron/ipc/dispatcher.js';
import { createLogger, type LogEntry } from '../../electron/app/logger.js';

test('client messages: only well-formed hello and request frames pass', () => {
  assert.deepEqual(parseClientMessage('{"type":"hello","token":"abc"}'), { ok: true, value: { type: 'hello', token: 'abc' } });
  assert.equal(parseClientMessage('{"type":"hello","token":""}').ok, false);
  assert.equal(parseClientMessage('[1,2]').ok, false);
  assert.equal(parseClientMessage('not json').ok, false);
  assert.equal(parseClientMessage('{"type":"request","id":1.5,"channel":"x"}').ok, false);
  assert.equal(parseClientMessage('{"type":"request","id":3,"channel":7}').ok, false);
  assert.equal(parseClientMessage('{"type":"shutdown"}').ok, false);
  const request = parseClientMessage('{"type":"request","id":3,"channel":"system.getStatus","payload":{}}');
  assert.deepEqual(request, { ok: true, value: { type: 'request', id: 3, channel: 'system.getStatus', payload: {} } });
});

test('request payloads are validated per channel with the offending field named', () => {
  assert.deepEqual(validateRequest('system.getStatus', {}), { ok: true, value: {} });
  assert.deepEqual(validateRequest('system.getStatus', null), {
    ok: false,
    error: { code: 'invalid-request', message: 'expected an object', field: 'request' },
  });
  assert.equal(isRequestChannel('system.getStatus'), true);
  assert.equal(isRequestChannel('toString'), false, 'inherited object keys are not channels');
  assert.equal(isRequestChannel(42), false);
});

test('the dispatcher turns a throwing service into an internal error value and logs it', async () => {
  const log: LogEntry[] = [];
  const unavailable = Object.fromEntries(
    requestChannelNames.map((name) => [name, () => Promise.resolve(fail('unavailable', 'not part of this test'))]),
  ) as unknown as RequestHandlers;
  const dispatch = createDispatcher(
    { ...unavailable, 'system.getStatus': () => Promise.reject(new Error('disk on fire')) },
    createLogger((entry) => log.push(entry)),
  );
  assert.deepEqual(await dispatch('system.getStatus', {}), {
    ok: false,
    error: { code: 'internal', message: 'disk on fire' },
  });
  assert.equal(log.at(-1)?.level, 'error');
  assert.deepEqual(await dispatch('__proto__', {}), {
    ok: false,
    error: { code: 'unknown-channel', message: 'unknown channel "__proto__"' },
  });
});

test('monitor.setMode accepts the four modes and needs a scale for fixed', () => {
  assert.deepEqual(validateRequest('monitor.setMode', { mode: 'saver' }), { ok: true, value: { mode: 'saver' } });
  assert.deepEqual(validateRequest('monitor.setMode', { mode: 'fixed', fixedScaleId: 's2' }), { ok: true, value: { mode: 'fixed', fixedScaleId: 's2' } });
  const missing = validateRequest('monitor.setMode', { mode: 'fixed' });
  assert.equal(!missing.ok && missing.error.field, 'request.fixedScaleId');
  const unknown = validateRequest('monitor.setMode', { mode: 'turbo' });
  assert.equal(!unknown.ok && unknown.error.field, 'request.mode');
  const extra = validateRequest('monitor.setMode', { mode: 'best', verbose: 1 });
  assert.equal(!extra.ok && extra.error.field, 'request.verbose');
});
