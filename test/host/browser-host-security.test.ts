import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import WebSocket from 'ws';
import { createLogger, type LogEntry } from '../../electron/app/logger.js';
import {
  protocolErrorCloseCode,
  startBrowserHost,
  unauthorizedCloseCode,
  type RunningBrowserHost,
} from '../../electron/host/browser-host.js';
import { encodeLiveAudioFrame, type ServerMessage } from '../../electron/ipc/contract.js';
import { projectRoot } from '../support/browser.js';
import { createServicesFixture } from '../support/services.js';

interface Session {
  readonly messages: ServerMessage[];
  readonly closed: Promise<{ code: number }>;
  send(value: unknown): void;
  next(): Promise<ServerMessage>;
  socket: WebSocket;
}

function openSession(host: RunningBrowserHost, origin = host.origin): Promise<Session> {
  const socket = new WebSocket(`${host.origin.replace('http', 'ws')}/ipc`, { origin });
  const messages: ServerMessage[] = [];
  const waiters: ((message: ServerMessage) => void)[] = [];
  socket.on('message', (data) => {
    const message = JSON.parse(Buffer.from(data as Buffer).toString('utf8')) as ServerMessage;
    if (message.type === 'event') return;
    const waiter = waiters.shift();
    if (waiter) waiter(message);
    else messages.push(message);
  });
  const closed = new Promise<{ code: number }>((resolve) => socket.on('close', (code) => resolve({ code })));
  return new Promise((resolve, reject) => {
    socket.on('open', () =>
      resolve({
        messages,
        closed,
        socket,
        send: (value) => socket.send(typeof value === 'string' ? value : JSON.stringify(value)),
        next: () => {
          const queued = messages.shift();
          return queued ? Promise.resolve(queued) : new Promise((r) => waiters.push(r));
        },
      }),
    );
    socket.on('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
    socket.on('error', reject);
  });
}

function rawGet(host: RunningBrowserHost, path: string, hostHeader?: string): Promise<{ status: number; headers: Record<string, unknown> }> {
  const url = new URL(host.origin);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: url.hostname, port: url.port, path, headers: hostHeader ? { host: hostHeader } : {} },
      (response) => {
        response.resume();
        resolve({ status: response.statusCode ?? 0, headers: response.headers });
      },
    );
    request.on('error', reject);
    request.end();
  });
}

test('the browser host rejects and logs what it must not serve', async (t) => {
  const fixture = createServicesFixture();
  t.after(() => fixture.dispose());
  const hostLog: LogEntry[] = [];
  const host = await startBrowserHost({
    services: fixture.services,
    rendererDirectory: join(projectRoot, 'dist', 'renderer'),
    logger: createLogger((entry) => hostLog.push(entry)),
    authTimeoutMs: 300,
  });
  t.after(() => host.close());
  const logged = (text: string) => hostLog.some((entry) => entry.level === 'warn' && entry.message.includes(text));

  await t.test('a request before hello is refused and the socket closed', async () => {
    const session = await openSession(host);
    session.send({ type: 'request', id: 1, channel: 'system.getStatus', payload: {} });
    const reply = await session.next();
    assert.equal(reply.type, 'rejected');
    assert.equal(reply.type === 'rejected' && reply.error.code, 'unauthorized');
    assert.equal((await session.closed).code, unauthorizedCloseCode);
    assert.ok(logged('unauthenticated client'));
  });

  await t.test('a wrong token is refused', async () => {
    const session = await openSession(host);
    session.send({ type: 'hello', token: `${host.token.slice(0, -1)}x` });
    assert.equal((await session.next()).type, 'rejected');
    assert.equal((await session.closed).code, unauthorizedCloseCode);
  });

  await t.test('silence is refused after the auth timeout', async () => {
    const session = await openSession(host);
    assert.equal((await session.closed).code, unauthorizedCloseCode);
    assert.ok(logged('never authenticated'));
  });

  await t.test('malformed JSON is refused and logged', async () => {
    const session = await openSession(host);
    session.send('{"type": "hello", token');
    const reply = await session.next();
    assert.equal(reply.type === 'rejected' && reply.error.code, 'invalid-request');
    assert.equal((await session.closed).code, unauthorizedCloseCode);
    assert.ok(logged('malformed message'));
  });

  await t.test('an upgrade from a foreign origin is refused before any message', async () => {
    await assert.rejects(openSession(host, 'http://evil.example'), /HTTP 403/);
    assert.ok(logged('refused WebSocket upgrade'));
  });

  await t.test('after hello, requests are validated per channel and errors come back as values', async () => {
    const session = await openSession(host);
    session.send({ type: 'hello', token: host.token });
    assert.deepEqual(await session.next(), { type: 'welcome', host: 'browser' });

    session.send({ type: 'request', id: 7, channel: 'system.format', payload: {} });
    const unknown = await session.next();
    assert.equal(unknown.type === 'response' && !unknown.result.ok && unknown.result.error.code, 'unknown-channel');

    session.send({ type: 'request', id: 8, channel: 'system.getStatus', payload: { verbose: true } });
    const invalid = await session.next();
    assert.ok(invalid.type === 'response' && !invalid.result.ok);
    assert.deepEqual(invalid.result.error, { code: 'invalid-request', message: 'unexpected field "verbose"', field: 'request.verbose' });
    assert.ok(fixture.logEntries.some((entry) => entry.message === 'rejected malformed request'));

    session.send({ type: 'request', id: 9, channel: 'system.getStatus', payload: {} });
    const status = await session.next();
    assert.ok(status.type === 'response' && status.id === 9 && status.result.ok);

    session.send({ type: 'request', id: -1, channel: 'system.getStatus', payload: {} });
    const bad = await session.next();
    assert.equal(bad.type === 'rejected' && bad.error.field, 'id');
    assert.equal((await session.closed).code, protocolErrorCloseCode);
  });

  await t.test('binary frames before hello are refused', async () => {
    const session = await openSession(host);
    session.socket.send(Buffer.from(encodeLiveAudioFrame(1, 0, new Float32Array(160))));
    const reply = await session.next();
    assert.equal(reply.type === 'rejected' && reply.error.code, 'unauthorized');
    assert.equal((await session.closed).code, unauthorizedCloseCode);
  });

  await t.test('after hello, binary frames are live media: a bad one is reported, the connection stays', async () => {
    const session = await openSession(host);
    session.send({ type: 'hello', token: host.token });
    await session.next();
    session.socket.send(Buffer.from([1, 2, 3]));
    const reply = await session.next();
    assert.ok(reply.type === 'media-rejected' && reply.error.code === 'invalid-request', JSON.stringify(reply));
    assert.match(reply.error.message, /at least 24 bytes/);
    assert.ok(logged('dropped a live media frame'));
    // No session is running, so even a well-formed frame has nowhere to go; within a second of
    // the last report it is dropped silently, and the connection still answers requests.
    session.socket.send(Buffer.from(encodeLiveAudioFrame(99, 0, new Float32Array(160))));
    session.send({ type: 'request', id: 1, channel: 'live.current', payload: {} });
    assert.deepEqual(await session.next(), { type: 'response', id: 1, result: { ok: true, value: null } });
    session.socket.close();
  });

  await t.test('HTTP: strict headers, no foreign Host, no escape from the renderer folder', async () => {
    const index = await rawGet(host, '/');
    assert.equal(index.status, 200);
    assert.match(String(index.headers['content-security-policy']), /default-src 'none'/);
    assert.match(String(index.headers['content-security-policy']), /frame-ancestors 'none'/);
    assert.equal((await rawGet(host, '/', 'attacker.example:80')).status, 421);
    assert.ok(logged('foreign Host header'));
    const escapes = await rawGet(host, '/..%2f..%2fpackage.json');
    assert.ok(escapes.status === 403 || escapes.status === 404, `got ${escapes.status}`);
    assert.equal((await rawGet(host, '/no-such-file.js')).status, 404);
  });
});
